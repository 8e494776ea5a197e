"""Watches (and optionally blocks) every network access of a Python process, for the offline tests.

Put this folder on ``PYTHONPATH`` and Python imports it at start-up (``site`` runs any
``sitecustomize`` it finds). It installs an audit hook (PEP 578) on the interpreter's own socket
events, so nothing in the code under test is patched:

* ``SQLCODER_TEST_NETLOG=FILE``: every internet socket created, every ``connect`` to a host and
  port, and every name look-up is appended to FILE, one line each;
* ``SQLCODER_TEST_NETBLOCK=1``: those same operations fail with ``OSError`` (ENETUNREACH), as on a
  machine without a network (the fallback where ``unshare -n`` is not allowed).
"""

from __future__ import annotations

import errno
import os
import socket
import sys

_LOG = os.environ.get("SQLCODER_TEST_NETLOG")
_BLOCK = os.environ.get("SQLCODER_TEST_NETBLOCK") == "1"
_INET = (socket.AF_INET, getattr(socket, "AF_INET6", socket.AF_INET))
_LOOKUPS = {"socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr", "socket.getnameinfo"}


def _network_event(event: str, args: tuple) -> str | None:
    if event in _LOOKUPS:
        return f"{event} {args[0]!r}"
    if event == "socket.__new__" and len(args) >= 2 and args[1] in _INET:
        return f"{event} family={int(args[1])}"
    if event in ("socket.connect", "socket.sendto") and len(args) >= 2 and isinstance(args[-1], tuple):
        return f"{event} {args[-1]!r}"
    return None


def _hook(event: str, args: tuple) -> None:
    if not event.startswith("socket."):
        return
    line = _network_event(event, args)
    if line is None:
        return
    if _LOG:
        with open(_LOG, "a", encoding="utf-8") as log:
            log.write(f"{os.getpid()} {line}\n")
    if _BLOCK:
        raise OSError(errno.ENETUNREACH, f"network blocked by the test ({event})")


if _LOG or _BLOCK:
    sys.addaudithook(_hook)
