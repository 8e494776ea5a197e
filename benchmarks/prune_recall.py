"""Does schema pruning keep what the gold SQL needs? (issue 4 acceptance)

For every sql-eval question: introspect its database (adding the foreign keys its names imply when it declares none, as the
pipeline does; ``--no-join-hints`` leaves them out), prune the schema for the question with a
budget of one third of the full DDL's tokens, parse the gold SQL with sqlglot, and check that every
table and column the gold query uses survived. "Largest" databases are those whose full DDL is
above the median token count of the 11 databases; the ≥ 98 % acceptance applies to their questions
(the others are reported too, at the same 1/3 ratio, for information).

    python benchmarks/prune_recall.py [--sql-eval DIR] [--ratio 0.3333] [--json OUT]

Prints a markdown table and writes ``benchmarks/results/prune_recall.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = ROOT.parent / "shared" / "bench" / "sql_eval"
sys.path.insert(0, str(ROOT))

from sqlcoder_cli.db import open_database  # noqa: E402
from sqlcoder_cli.schema import Schema, introspect, render_ddl  # noqa: E402
from sqlcoder_cli.schema.joins import infer_foreign_keys  # noqa: E402
from sqlcoder_cli.schema.prune import PrunedSchema, estimate_tokens, prune_schema  # noqa: E402


def gold_requirements(sql: str, schema: Schema) -> list[set[tuple[str, str]]]:
    """What the query needs, as alternatives: each set must have one (table, column) kept.

    A table alone is ``(table, "")``. Qualified columns resolve through the query's aliases;
    unqualified ones may come from any table of the query that has them; names that are no
    table's column (select-list aliases, CTE columns) require nothing.
    """
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(sql, read="sqlite")
    except sqlglot.errors.ParseError:
        return _token_requirements(sql, schema)
    ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
    alias: dict[str, str] = {}
    tables: set[str] = set()
    for t in tree.find_all(exp.Table):
        name = t.name.lower()
        if name in ctes:
            continue
        real = schema.table(name)
        if real is None:
            continue
        tables.add(real.name)
        alias[(t.alias_or_name or name).lower()] = real.name
        alias[name] = real.name
    reqs: list[set[tuple[str, str]]] = [{(t, "")} for t in sorted(tables)]
    for col in tree.find_all(exp.Column):
        cname = col.name.lower()
        if not cname or isinstance(col.this, exp.Star):
            continue
        qual = col.table.lower()
        if qual and qual in alias:
            candidates = [alias[qual]]
        else:
            candidates = sorted(tables)
        options = set()
        for tname in candidates:
            t = schema.table(tname)
            c = t.column(cname) if t is not None else None
            if c is not None:
                options.add((t.name, c.name))  # type: ignore[union-attr]
        if options and options not in reqs:
            reqs.append(options)
    return reqs


def _token_requirements(sql: str, schema: Schema) -> list[set[tuple[str, str]]]:
    """Fallback for gold sqlglot cannot parse: every identifier naming a table or a column of one."""
    import sqlglot
    from sqlglot.tokens import TokenType

    words = [t.text for t in sqlglot.tokenize(sql, read="sqlite") if t.token_type in (TokenType.VAR, TokenType.IDENTIFIER)]
    tables = [schema.table(w) for w in words if schema.table(w) is not None]
    reqs: list[set[tuple[str, str]]] = [{(t.name, "")} for t in tables]  # type: ignore[union-attr]
    for w in words:
        options = {(t.name, t.column(w).name) for t in tables if t is not None and t.column(w) is not None}  # type: ignore[union-attr]
        if options and options not in reqs:
            reqs.append(options)
    return reqs


def kept_pairs(pruned: PrunedSchema) -> set[tuple[str, str]]:
    out = set()
    for t in pruned.schema.tables:
        out.add((t.name, ""))
        out.update((t.name, c.name) for c in t.columns)
    return out


@dataclass
class DbResult:
    db: str
    full_tokens: int
    budget: int
    largest: bool
    questions: int = 0
    kept_all: int = 0
    pruned_tokens_sum: int = 0
    max_over_budget: int = -10**9
    misses: list[dict[str, Any]] | None = None

    @property
    def recall(self) -> float:
        return self.kept_all / self.questions if self.questions else 1.0

    @property
    def token_ratio(self) -> float:
        return self.pruned_tokens_sum / self.questions / self.full_tokens if self.questions else 0.0


def evaluate(sql_eval_dir: Path, ratio: float = 1 / 3, join_hints: bool = True) -> dict[str, Any]:
    questions = [json.loads(line) for line in (sql_eval_dir / "questions.jsonl").read_text().splitlines() if line.strip()]
    schemas: dict[str, Schema] = {}
    t0 = time.perf_counter()
    for path in sorted((sql_eval_dir / "dbs").glob("*.sqlite")):
        with open_database(str(path)) as db:
            schemas[path.stem] = introspect(db)
            if join_hints:  # as the pipeline shows it: inferred foreign keys when none are declared
                schemas[path.stem] = infer_foreign_keys(schemas[path.stem])
    introspect_s = time.perf_counter() - t0
    full = {name: estimate_tokens(render_ddl(s)) for name, s in schemas.items()}
    median = statistics.median(full.values())
    results = {
        name: DbResult(name, full[name], int(full[name] * ratio), full[name] > median, misses=[])
        for name in sorted(schemas)
    }
    t0 = time.perf_counter()
    for q in questions:
        r = results[q["db"]]
        schema = schemas[q["db"]]
        pruned = prune_schema(schema, q["question"], budget_tokens=r.budget, notes=q.get("instructions") or "")
        kept = kept_pairs(pruned)
        reqs = gold_requirements(q["gold"][0], schema)
        missing = [sorted(opts) for opts in reqs if not (opts & kept)]
        r.questions += 1
        r.pruned_tokens_sum += pruned.tokens
        r.max_over_budget = max(r.max_over_budget, pruned.tokens - r.budget)
        if missing:
            assert r.misses is not None
            r.misses.append({"id": q["id"], "question": q["question"], "missing": missing})
        else:
            r.kept_all += 1
    prune_s = time.perf_counter() - t0
    largest = [r for r in results.values() if r.largest]
    n_large = sum(r.questions for r in largest)
    ok_large = sum(r.kept_all for r in largest)
    n_all = sum(r.questions for r in results.values())
    ok_all = sum(r.kept_all for r in results.values())
    return {
        "ratio": ratio,
        "token_counter": "estimate_tokens",
        "median_full_tokens": median,
        "largest_definition": "databases whose full DDL is above the median estimated token count",
        "recall_largest": ok_large / n_large if n_large else 1.0,
        "questions_largest": n_large,
        "recall_all": ok_all / n_all if n_all else 1.0,
        "questions_all": n_all,
        "introspect_s": round(introspect_s, 3),
        "prune_s_total": round(prune_s, 3),
        "databases": [
            {
                "db": r.db,
                "largest": r.largest,
                "full_tokens": r.full_tokens,
                "budget": r.budget,
                "questions": r.questions,
                "recall": round(r.recall, 4),
                "mean_token_ratio": round(r.token_ratio, 3),
                "max_tokens_over_budget": r.max_over_budget,
                "misses": r.misses,
            }
            for r in results.values()
        ],
    }


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "| database | largest | full tokens | budget | questions | all gold refs kept | mean pruned/full |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for d in report["databases"]:
        lines.append(
            f"| {d['db']} | {'yes' if d['largest'] else ''} | {d['full_tokens']} | {d['budget']} | {d['questions']} "
            f"| {d['recall']:.1%} | {d['mean_token_ratio']:.2f} |"
        )
    lines.append("")
    lines.append(
        f"Largest databases (full DDL above the median of {report['median_full_tokens']} tokens): "
        f"{report['recall_largest']:.1%} of {report['questions_largest']} questions keep every gold table and column; "
        f"all databases: {report['recall_all']:.1%} of {report['questions_all']}."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sql-eval", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--ratio", type=float, default=1 / 3)
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "prune_recall.json")
    parser.add_argument("--show-misses", action="store_true")
    parser.add_argument("--no-join-hints", action="store_true", help="Prune the schema as introspected (no inferred foreign keys).")
    args = parser.parse_args(argv)
    report = evaluate(args.sql_eval, args.ratio, join_hints=not args.no_join_hints)
    print(markdown(report))
    if args.show_misses:
        for d in report["databases"]:
            for m in d["misses"]:
                print(f"{d['db']} {m['id']}: {m['question']}\n    missing {m['missing']}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
