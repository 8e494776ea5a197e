"""The catalogue: names, aliases, and the facts the rest of the code relies on."""

from __future__ import annotations

from sqlcoder_cli.models.catalogue import CATALOGUE, DEFAULT_MODEL, FAMILIES, find_entry


def test_default_is_sqlcoder_7b_2_q5() -> None:
    entry = find_entry(DEFAULT_MODEL)
    assert entry is not None
    assert (entry.repo_id, entry.filename, entry.quantization) == ("defog/sqlcoder-7b-2", "sqlcoder-7b-q5_k_m.gguf", "Q5_K_M")
    assert entry.family == "sqlcoder" and entry.context_length == 16384


def test_lookup_is_case_insensitive_and_knows_the_alias() -> None:
    assert find_entry("SQLCoder-7B-2") is find_entry("sqlcoder-7b-2")
    assert find_entry("sqlcoder-7b-2:Q5_K_M") is find_entry("sqlcoder-7b-2")
    assert find_entry(" qwen2.5-coder-0.5b ") is not None
    assert find_entry("sqlcoder-7b") is None
    assert find_entry("") is None


def test_entries_are_well_formed() -> None:
    names = [e.name for e in CATALOGUE]
    assert len(names) == len(set(names)) == 6
    for entry in CATALOGUE:
        assert entry.family in FAMILIES
        assert entry.filename.endswith(".gguf") and "/" in entry.repo_id
        assert entry.size_bytes > 100_000_000 and entry.context_length >= 8192
    assert find_entry("qwen2.5-coder-0.5b").size_bytes == 491_400_064  # type: ignore[union-attr]
    assert find_entry("llama-3-sqlcoder-8b:q4_k_m").family == "llama3-sqlcoder"  # type: ignore[union-attr]
    # The older SQLCoder-7B (not 7B-2) is deliberately not offered.
    assert all(e.repo_id != "TheBloke/sqlcoder-7B-GGUF" for e in CATALOGUE)
