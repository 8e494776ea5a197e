"""Plain-data output formats (csv, tsv, json, jsonl, markdown). No rich here: the table format is drawn by the CLI."""
