"""Hide every credential in a database spec, once, where the spec enters the program.

Why here and why an allowlist: a spec reaches errors, JSON output, the history log, cache keys and
``doctor``. Hiding the password at each of those places misses the next one, and hiding known
secret names (``password=``) misses the next driver's (``sslpassword=``, ``passfile=``,
``motherduck_token=``). So the spec is turned into a display form as soon as it is read: the
password of the URL's user part, and the value of every query parameter that is *not* on a short
list of connection settings known to be harmless, become ``***``. Text that does not even parse
as a URL is redacted the same way by pattern. The values removed are kept (never shown) so that
driver errors quoting them can be scrubbed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, quote_plus

HIDDEN = "***"

#: query parameters whose values are shown; every other value is hidden
SAFE_PARAMETERS = frozenset(
    {
        "host", "hostaddr", "port", "dbname", "database", "user", "username", "options",
        "application_name", "fallback_application_name", "connect_timeout", "client_encoding",
        "sslmode", "sslcompression", "sslrootcert", "sslcrl", "sslcert", "sslkey", "sslnegotiation",
        "sslsni", "requirepeer", "gssencmode", "krbsrvname", "target_session_attrs",
        "load_balance_hosts", "keepalives", "keepalives_idle", "keepalives_interval",
        "keepalives_count", "tcp_user_timeout", "charset", "read_only", "access_mode", "mode",
        "driver", "encrypt", "trustservercertificate", "schema", "search_path", "timezone",
    }
)

#: libpq's ``key=value`` connection strings: recognised by one of these words
_CONNINFO_KEYS = ("host", "hostaddr", "dbname", "user", "password", "port", "passfile", "service")
_CONNINFO_RE = re.compile(r"(?:^|\s)(" + "|".join(_CONNINFO_KEYS) + r")\s*=", re.IGNORECASE)
#: ``scheme://user:secret@host``; the secret runs to the *last* ``@`` before the host, so a
#: password with an unencoded ``@`` is hidden whole
_USERINFO_RE = re.compile(r"(?P<head>[A-Za-z][\w+.-]*://[^/@:\s]*):(?P<secret>\S*?)@(?=[^@/\s]*(?:[/?#\s]|$))")
_PARAM_RE = re.compile(r"(?P<head>[?&;]\s*(?P<key>[^=&;#\s]+)\s*=)(?P<value>[^&;#\s]*)")
_PAIR_RE = re.compile(r"(?P<head>(?P<key>\w+)\s*=\s*)(?P<value>'(?:[^'\\]|\\.)*'|\S*)")


@dataclass(frozen=True)
class RedactedSpec:
    """A database spec fit to show (``display``), and the secret values it contained."""

    display: str
    secrets: tuple[str, ...]


def _hide_params(text: str, secrets: list[str]) -> str:
    def repl(match: re.Match[str]) -> str:
        if match.group("key").lower() in SAFE_PARAMETERS or not match.group("value"):
            return match.group(0)
        secrets.append(match.group("value"))
        return match.group("head") + HIDDEN

    return _PARAM_RE.sub(repl, text)


def _hide_conninfo(text: str, secrets: list[str]) -> str:
    def repl(match: re.Match[str]) -> str:
        if match.group("key").lower() in SAFE_PARAMETERS:
            return match.group(0)
        value = match.group("value")
        secrets.append(value.strip("'"))
        return match.group("head") + HIDDEN

    return _PAIR_RE.sub(repl, text)


def redact_spec(spec: str | None) -> RedactedSpec:
    """The display form of whatever the user gave as a database (URL, path, conninfo, garbage)."""
    text = spec or ""
    secrets: list[str] = []
    if "://" in text:
        from urllib.parse import unquote, unquote_plus

        def userinfo(match: re.Match[str]) -> str:
            if match.group("secret"):
                raw = match.group("secret")
                secrets.extend({raw, unquote(raw), unquote_plus(raw)})
                return f"{match.group('head')}:{HIDDEN}@"
            return match.group(0)

        text = _USERINFO_RE.sub(userinfo, text)
        found: list[str] = []
        text = _hide_params(text, found)
        for value in found:
            secrets.extend({value, unquote(value), unquote_plus(value)})
    elif "=" in text and _CONNINFO_RE.search(text):
        text = _hide_conninfo(text, secrets)
    return RedactedSpec(text, tuple(s for s in dict.fromkeys(secrets) if s))


def scrub(text: str, secrets: tuple[str, ...] | list[str]) -> str:
    """Remove every secret (raw and URL-encoded) from ``text``, and any ``user:password@`` left."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if not secret:
            continue
        for variant in {secret, quote(secret, safe=""), quote_plus(secret)}:
            if len(variant) >= 4:
                text = text.replace(variant, HIDDEN)
            else:  # a very short secret: only where it stands alone, not inside other words
                text = re.sub(rf"(?<![\w]){re.escape(variant)}(?![\w])", HIDDEN, text)
    return redact_spec(text).display if "://" in text else text
