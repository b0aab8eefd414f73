"""Typed results of the Python client. Each keeps the server's JSON as ``raw``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TERMINAL = frozenset({"succeeded", "failed", "canceled"})


@dataclass(frozen=True)
class Progress:
    step: int
    total: int

    @property
    def fraction(self) -> float:
        return self.step / self.total if self.total else 0.0


@dataclass(frozen=True)
class JobOutput:
    asset_id: str
    url: str
    content_type: str
    width: int | None
    height: int | None
    size_bytes: int


@dataclass(frozen=True)
class JobError:
    code: str
    message: str


@dataclass(frozen=True)
class Job:
    id: str
    task: str
    model: str
    status: str
    params: dict[str, Any]
    seed: int | None
    progress: Progress
    outputs: list[JobOutput]
    result: dict[str, Any] | None
    error: JobError | None
    cache_hit: bool
    raw: dict[str, Any] = field(repr=False)
    served_from: str | None = None  # engine, failover:<model id>, or fallback (a stored result, not a new one)

    @property
    def done(self) -> bool:
        return self.status in TERMINAL

    @property
    def text(self) -> str | None:
        """The text result of a caption, text, summary or transcript job."""
        return (self.result or {}).get("text")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Job:
        progress = data.get("progress") or {}
        error = data.get("error")
        return cls(
            id=data["id"],
            task=data["task"],
            model=data["model"],
            status=data["status"],
            params=data.get("params") or {},
            seed=data.get("seed"),
            progress=Progress(int(progress.get("step", 0)), int(progress.get("total", 0))),
            outputs=[_output(o) for o in data.get("outputs") or []],
            result=data.get("result"),
            error=JobError(error["code"], error["message"]) if error else None,
            cache_hit=bool(data.get("cache_hit")),
            raw=data,
            served_from=data.get("served_from"),
        )


def _output(data: dict[str, Any]) -> JobOutput:
    return JobOutput(
        data["asset_id"],
        data["url"],
        data["content_type"],
        data.get("width"),
        data.get("height"),
        data.get("size_bytes", 0),
    )


@dataclass(frozen=True)
class Event:
    """One server-sent event of a job: ``job``, ``status``, ``progress``, ``token``, ``segment``, ``retry``."""

    type: str
    data: Any

    @property
    def job(self) -> Job | None:
        return Job.from_json(self.data) if self.type == "job" and isinstance(self.data, dict) else None

    @property
    def progress(self) -> Progress | None:
        if self.type != "progress" or not isinstance(self.data, dict):
            return None
        return Progress(int(self.data.get("step", 0)), int(self.data.get("total", 0)))


@dataclass(frozen=True)
class Upload:
    id: str
    content_type: str
    media_kind: str
    size: int
    width: int | None
    height: int | None
    duration_seconds: float | None
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Upload:
        return cls(data["id"], data["content_type"], data.get("media_kind", ""), int(data.get("size", 0)),
                   data.get("width"), data.get("height"), data.get("duration_seconds"), data)  # fmt: skip


@dataclass(frozen=True)
class Model:
    id: str
    task: str
    default: bool
    loaded: bool
    description: str
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Model:
        return cls(data["id"], data["task"], bool(data.get("default")), bool(data.get("loaded")),
                   data.get("description", ""), data)  # fmt: skip
