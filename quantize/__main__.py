"""``python -m quantize``: the same command line as ``sqlcoder-quantize``."""

from .cli import main

if __name__ == "__main__":
    main()
