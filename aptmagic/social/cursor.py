"""Opaque keyset cursors: (created_at, id), with a leading score for the top feeds."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime

from aptmagic.kit.errors import InvalidRequest


@dataclass(frozen=True)
class Cursor:
    created_at: datetime
    id: str
    score: int | None = None


def encode(created_at: datetime, id_: str, score: int | None = None) -> str:
    raw = f"{'' if score is None else score}|{created_at.isoformat()}|{id_}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str | None) -> Cursor | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        score, created, id_ = raw.split("|", 2)
        when = datetime.fromisoformat(created)
        if when.tzinfo is None or len(id_) > 64:
            raise ValueError("cursor time has no zone")
        return Cursor(when.astimezone(UTC), id_, int(score) if score else None)
    except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError):
        raise InvalidRequest.field(["query", "cursor"], "malformed cursor; pass next_cursor as given") from None
