"""``sqlcoder repl``: an interactive session with the model loaded once (prompt_toolkit + rich).

- :mod:`.commands`: meta-command parsing, the follow-up rule, SQL detection, input completeness.
- :mod:`.completion`: tab completion of meta-commands, tables and columns.
- :mod:`.app`: the loop (:class:`~sqlcoder_cli.repl.app.Repl`), one input line at a time.

Only the CLI layer imports this package; the core (``pipeline``) knows nothing about it.
"""
