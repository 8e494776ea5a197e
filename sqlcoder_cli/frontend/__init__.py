"""The front-end kit shared by the one-shot CLI (``cli/``) and the REPL (``repl/``).

Everything both show a person lives here once: the per-invocation state and its two consoles
(:mod:`.state`, :mod:`.environment`), the SQL streaming live while the model writes it
(:mod:`.live`), the SQL, the result table and the row notes (:mod:`.render`), the lines about an
answer — attempt warnings, mending, timings (:mod:`.messages`) — editing SQL in ``$EDITOR``
(:mod:`.editor`) and SIGTERM handling (:mod:`.terminate`). The kit imports the core library, never
``cli/`` or ``repl/``; ``repl/`` never imports ``cli/`` (import-linter contracts in pyproject.toml,
checked by tests/test_layers.py).
"""
