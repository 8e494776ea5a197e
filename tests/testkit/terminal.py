"""What a pseudo-terminal showed, as plain text: colour and cursor escapes removed, CRs dropped."""

from __future__ import annotations

import re

#: CSI sequences (colours, cursor movement, mode switches) as prompt_toolkit and rich write them
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def plain(text: str) -> str:
    return ANSI.sub("", text).replace("\r", "")
