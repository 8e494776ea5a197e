"""The command-line layer: parses arguments, calls the library, renders. No logic lives here."""
