"""Text results as downloadable files: plain text, SubRip and WebVTT."""

from __future__ import annotations

from typing import Any

FORMATS = {
    "txt": "text/plain; charset=utf-8",
    "srt": "application/x-subrip; charset=utf-8",
    "vtt": "text/vtt; charset=utf-8",
    "json": "application/json",
}


def _clock(seconds: float, separator: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, ms = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{ms:03d}"


def _cue_text(text: str) -> str:
    """Cue text may not hold an empty line or the arrow that starts a timing line."""
    lines = [line.strip() for line in text.replace("-->", "->").splitlines() if line.strip()]
    return "\n".join(lines) or "…"


def to_srt(segments: list[dict[str, Any]]) -> str:
    cues = []
    for index, seg in enumerate(segments, start=1):
        timing = f"{_clock(seg['start'], ',')} --> {_clock(seg['end'], ',')}"
        cues.append(f"{index}\n{timing}\n{_cue_text(seg['text'])}\n")
    return "\n".join(cues)


def to_vtt(segments: list[dict[str, Any]]) -> str:
    cues = ["WEBVTT\n"]
    for seg in segments:
        timing = f"{_clock(seg['start'], '.')} --> {_clock(seg['end'], '.')}"
        cues.append(f"{timing}\n{_cue_text(seg['text'])}\n")
    return "\n".join(cues)


def render(result: dict[str, Any], fmt: str) -> str:
    if fmt == "txt":
        if not isinstance(result.get("text"), str):
            raise ValueError("this job's result has no text (use json)")
        return str(result["text"]) + "\n"
    segments = result.get("segments")
    if not isinstance(segments, list):
        raise ValueError(f"{fmt} needs timed segments; this job has plain text only (use txt or json)")
    return to_srt(segments) if fmt == "srt" else to_vtt(segments)
