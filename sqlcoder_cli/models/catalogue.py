"""The models sqlcoder knows by name, and where on the Hugging Face Hub each one lives.

Why a fixed list: a user should be able to type ``sqlcoder models pull`` and get a model that is
known to work with our prompts, with its licence, size and prompt family stated up front, instead of
searching the Hub. Any other GGUF still works through ``sqlcoder models add PATH``.

Sizes: the two Qwen entries are exact byte counts (checked against the files); the SQLCoder entries
are approximations (the Hub's displayed sizes) and are only used for display and the free-space
check before the download starts; the download itself trusts the size the hub reports.

Deliberately absent: ``TheBloke/sqlcoder-7B-GGUF`` is the *older* SQLCoder-7B (2023), not
SQLCoder-7B-2, and scores clearly worse; do not add it under a 7b-2 name.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Prompt families (see ``sqlcoder_cli/prompts``): how the question and schema are laid out.
FAMILY_SQLCODER = "sqlcoder"  # SQLCoder-7B-2's "### Task / ### Database Schema / ### Answer" completion prompt
FAMILY_LLAMA3_SQLCODER = "llama3-sqlcoder"  # Llama-3 chat format + defog's system prompt
FAMILY_DUCKDB_NSQL = "duckdb-nsql"  # MotherDuck's DuckDB-NSQL "### Instruction / ### Input / ### Question" prompt
FAMILY_CHAT = "chat"  # the GGUF's own chat template (instruction-tuned general/coder models)
FAMILIES = (FAMILY_SQLCODER, FAMILY_LLAMA3_SQLCODER, FAMILY_DUCKDB_NSQL, FAMILY_CHAT)


@dataclass(frozen=True)
class CatalogueEntry:
    """One downloadable model: a single GGUF file in one Hub repository."""

    name: str
    repo_id: str
    filename: str
    size_bytes: int
    quantization: str
    family: str
    license: str
    context_length: int
    description: str
    revision: str = "main"

    @property
    def url(self) -> str:
        """The model's page, for ``models info`` and licence questions."""
        return f"https://huggingface.co/{self.repo_id}"


DEFAULT_MODEL = "sqlcoder-7b-2"

CATALOGUE: tuple[CatalogueEntry, ...] = (
    CatalogueEntry(
        name="sqlcoder-7b-2",
        repo_id="defog/sqlcoder-7b-2",
        filename="sqlcoder-7b-q5_k_m.gguf",
        size_bytes=4_780_000_000,  # approximate (Hub shows 4.78 GB)
        quantization="Q5_K_M",
        family=FAMILY_SQLCODER,
        license="CC-BY-SA-4.0",
        context_length=16384,
        description="Defog SQLCoder-7B-2, the default: best accuracy of the catalogue (Q5_K_M).",
    ),
    CatalogueEntry(
        name="sqlcoder-7b-2:q4_k_m",
        repo_id="QuantFactory/sqlcoder-7b-2-GGUF",
        filename="sqlcoder-7b-2.Q4_K_M.gguf",
        size_bytes=4_080_000_000,  # approximate (Hub shows 4.08 GB)
        quantization="Q4_K_M",
        family=FAMILY_SQLCODER,
        license="CC-BY-SA-4.0",
        context_length=16384,
        description="SQLCoder-7B-2 at Q4_K_M: a little smaller and faster, slightly less accurate.",
    ),
    CatalogueEntry(
        name="llama-3-sqlcoder-8b:q4_k_m",
        repo_id="QuantFactory/llama-3-sqlcoder-8b-GGUF",
        filename="llama-3-sqlcoder-8b.Q4_K_M.gguf",
        size_bytes=4_920_000_000,  # approximate (Hub shows 4.92 GB)
        quantization="Q4_K_M",
        family=FAMILY_LLAMA3_SQLCODER,
        license="CC-BY-SA-4.0",
        context_length=8192,
        description="Defog Llama-3-SQLCoder-8B (Llama-3 chat format).",
    ),
    CatalogueEntry(
        name="duckdb-nsql-7b:q8_0",
        repo_id="motherduckdb/DuckDB-NSQL-7B-v0.1-GGUF",
        filename="DuckDB-NSQL-7B-v0.1-q8_0.gguf",
        size_bytes=7_160_000_000,  # approximate (Hub shows 7.16 GB)
        quantization="Q8_0",
        family=FAMILY_DUCKDB_NSQL,
        license="Llama-2",
        context_length=16384,
        description="MotherDuck DuckDB-NSQL-7B: writes DuckDB SQL; best for DuckDB files.",
    ),
    CatalogueEntry(
        name="qwen2.5-coder-1.5b",
        repo_id="Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF",
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        size_bytes=1_117_320_768,  # exact
        quantization="Q4_K_M",
        family=FAMILY_CHAT,
        license="Apache-2.0",
        context_length=32768,
        description="Qwen2.5-Coder-1.5B-Instruct: fast, for weak laptops.",
    ),
    CatalogueEntry(
        name="qwen2.5-coder-0.5b",
        repo_id="Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF",
        filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        size_bytes=491_400_064,  # exact
        quantization="Q4_K_M",
        family=FAMILY_CHAT,
        license="Apache-2.0",
        context_length=32768,
        description="Qwen2.5-Coder-0.5B-Instruct: tiny and fastest; for simple questions and tests.",
    ),
)

#: Other spellings that mean a catalogue entry (lower case).
ALIASES: dict[str, str] = {
    "sqlcoder-7b-2:q5_k_m": "sqlcoder-7b-2",
}


def find_entry(name: str) -> CatalogueEntry | None:
    """The catalogue entry called ``name`` (case-insensitive, aliases allowed), or None."""
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    for entry in CATALOGUE:
        if entry.name.lower() == key:
            return entry
    return None


def catalogue_names() -> list[str]:
    """All catalogue names, default first (for hints and completion)."""
    return [entry.name for entry in CATALOGUE]


def ways_to_a_model(name: str | None = None) -> str:
    """Both ways out when a model is missing or cannot be downloaded, said by every such message
    (ask, pull, doctor, models list): download it, or use a GGUF file already on this machine
    (copied from elsewhere: the tool then never needs the internet)."""
    pull = f"sqlcoder models pull {name}" if name else "sqlcoder models pull NAME"
    return f"download it with `{pull}`, or use a GGUF file you have: --model PATH.gguf, or `sqlcoder models add PATH.gguf`"
