"""Secrets a source may need (an API key, a token): read from the environment, never written.

A catalogue URL names a secret as `${NAME}`, e.g.
`https://api.example.fr/stock.csv?apikey=${TERRITOIRES_SIRENE_API_KEY}`. The URL is kept
with its placeholder everywhere it is written (snapshots' sidecars, the fetch log, the
warehouse's meta tables, logs and error messages); only the request itself carries the
value, read from the environment when it is made. Text that may quote a request's URL
(an HTTP library's error) goes through `redact` before it is kept.
"""

from __future__ import annotations

import os
import re
from urllib.parse import parse_qsl, urlsplit

from pipelines.sources.errors import SourceError

PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Query parameters whose values are credentials, whatever URL they appear in.
SECRET_PARAMETERS = frozenset({"token", "access_token", "apikey", "api_key", "key", "password", "secret"})
MASK = "***"
_used: set[str] = set()  # values expanded in this process, masked wherever they would be written


class MissingSecret(SourceError):
    """A URL names a secret that the environment does not hold."""


def names(url: str | None) -> list[str]:
    """The environment variables a URL needs."""
    return PLACEHOLDER.findall(url or "")


def expand(url: str) -> str:
    """The URL with each `${NAME}` replaced by the environment's value (for the request only)."""

    def value(match: re.Match) -> str:
        name = match.group(1)
        found = os.environ.get(name)
        if not found:
            raise MissingSecret(
                f"the URL needs the environment variable {name} (a key or token of the publisher), which is not set; "
                f"set it in the environment of the build or the Dagster daemon (it is never written anywhere)"
            )
        if len(found) >= 4:
            _used.add(found)
        return found

    return PLACEHOLDER.sub(value, url)


def redact(text: str | None) -> str | None:
    """The text with every secret value used in this process, and credential query values, masked."""
    if not text:
        return text
    for value in sorted(_used, key=len, reverse=True):
        text = text.replace(value, MASK)
    return re.sub(
        r"(?i)([?&](?:" + "|".join(sorted(SECRET_PARAMETERS)) + r")=)(?!\$\{)[^&#\s'\"]+", r"\1" + MASK, text
    )


def carries_credentials(url: str) -> bool:
    """Whether a URL holds a user name, a password or a token-like query parameter."""
    parts = urlsplit(url)
    return bool(parts.username or parts.password) or any(
        name.lower() in SECRET_PARAMETERS for name, _ in parse_qsl(parts.query, keep_blank_values=True)
    )
