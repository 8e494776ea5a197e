"""Execution-accuracy evaluation (``sqlcoder eval``): question files, Defog sql-eval comparison
rules, and a resumable runner that writes predictions and reports.

- :mod:`.questions` reads sql-eval jsonl, Spider-style files and a user's own file for one database.
- :mod:`.compare` decides whether a predicted result matches a gold result (exact and subset).
- :mod:`.runner` runs the questions through :class:`~sqlcoder_cli.pipeline.Session` (one per
  database, one model load for the whole run) and writes the prediction lines and reports.
"""

from .compare import Result, compare_results, gold_is_ordered, normalize_value
from .questions import Question, load_questions

__all__ = ["Question", "Result", "compare_results", "gold_is_ordered", "load_questions", "normalize_value"]
