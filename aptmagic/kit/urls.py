"""URLs as they may be shown: never with a user name, password, query or fragment."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def shown(url: str) -> str:
    """``url`` without credentials: its user info, query and fragment dropped (a key may hide in any)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(unparsable URL)"
    if not parts.scheme or not parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))
