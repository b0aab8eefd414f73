"""The configurable blocklist: terms refused in prompts, titles, captions, tags and comments.

A term matches case-insensitively, on word boundaries, after Unicode NFKC
normalisation of both the term and the text (so full-width or ligature forms
match too). Whitespace inside a term matches any run of whitespace."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from pathlib import Path

from aptmagic.kit.errors import AppError


class BlockedContent(AppError):
    status_code = 422
    code = "blocked_content"

    def __init__(self, field: str, loc: list[str | int], label: str | None = None) -> None:
        """``label``: how the message names the field (default: "the <field>"); the term is never echoed."""
        label = label or f"the {field.replace('_', ' ')}"
        super().__init__(
            f"{label} contains a blocked term",
            details=[{"field": field, "loc": loc, "msg": "contains a blocked term", "type": "blocked_content"}],
        )


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


class Blocklist:
    def __init__(self, terms: Iterable[str]) -> None:
        cleaned = sorted({normalise(t).strip() for t in terms if t.strip()}, key=len, reverse=True)
        self.size = len(cleaned)
        self._pattern = _compile(cleaned) if cleaned else None

    def matches(self, text: str) -> bool:
        return self._pattern is not None and self._pattern.search(normalise(text)) is not None

    def check(
        self, fields: Mapping[str, str | Iterable[str] | None], loc_prefix: tuple[str, ...] = ("body",),
        labels: Mapping[str, str] | None = None,
    ) -> None:  # fmt: skip
        """Raise BlockedContent naming the first field that holds a blocked term."""
        if self._pattern is None:
            return
        for field, value in fields.items():
            values = [value] if isinstance(value, str) else list(value or [])
            if any(self.matches(v) for v in values):
                raise BlockedContent(field, [*loc_prefix, field], (labels or {}).get(field))


def _compile(terms: list[str]) -> re.Pattern[str]:
    parts = [r"\s+".join(re.escape(word) for word in term.split()) for term in terms]
    return re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)")


def load_blocklist(terms: Iterable[str], file: Path | None) -> Blocklist:
    """Terms from settings plus one per line of ``file`` (blank lines and '#' comments skipped)."""
    all_terms = list(terms)
    if file is not None:
        for line in file.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                all_terms.append(line)
    return Blocklist(all_terms)


def job_text_fields(params: object) -> dict[str, list[str]]:
    """The free-text fields of a job's params, by field name (prompt, negative_prompt, text, messages)."""
    found: dict[str, list[str]] = {}
    for name in ("prompt", "negative_prompt", "text"):
        value = getattr(params, name, None)
        if isinstance(value, str) and value:
            found[name] = [value]
    messages = getattr(params, "messages", None)
    if messages:
        found["messages"] = [str(getattr(m, "content", "")) for m in messages]
    return found


def check_job_params(blocklist: Blocklist | None, params: object) -> None:
    """The hook at job submit: a blocked term in a prompt answers 422 blocked_content."""
    if blocklist is not None:
        blocklist.check(job_text_fields(params), ("body", "params"), {"messages": "a message"})
