"""The audit log as CSV or JSON Lines, streamed page by page.

CSV cells that a spreadsheet would run as a formula (starting with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return) are prefixed with ``'``."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from aptmagic.auth.models import AuditEvent
from aptmagic.auth.repository import AuditFilters
from aptmagic.auth.schemas import AuditRead

COLUMNS = ("id", "created_at", "action", "outcome", "actor_id", "target_type", "target_id", "ip", "message", "details")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
BATCH = 500
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}
Page = Callable[[AuditFilters, int | None, int], Sequence[AuditEvent]]


def safe_cell(value: Any) -> str:
    if value is None:
        return ""
    text = json.dumps(value, sort_keys=True) if isinstance(value, dict) else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _rows(read_page: Page, filters: AuditFilters) -> Iterator[AuditRead]:
    before: int | None = None
    while True:
        events = read_page(filters, before, BATCH)
        for event in events:
            yield AuditRead.of(event)
        if len(events) < BATCH:
            return
        before = events[-1].id


def csv_lines(read_page: Page, filters: AuditFilters) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for row in _rows(read_page, filters):
        data = row.model_dump(mode="json")
        writer.writerow([safe_cell(data[column]) for column in COLUMNS])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def jsonl_lines(read_page: Page, filters: AuditFilters) -> Iterator[str]:
    for row in _rows(read_page, filters):
        yield row.model_dump_json() + "\n"
