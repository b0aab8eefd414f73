"""The inference backend protocol: load once with setup(), run many, unload().

A backend runs in a worker thread, never on the event loop. It reports each
step through ``RunContext.step``, which raises ``JobCanceled`` when the job's
cancel was requested, so cancel takes effect between steps."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from PIL import Image
from pydantic import BaseModel

from aptmagic.inference.spec import ModelSpec


class JobCanceled(Exception):
    """Raised inside a run when the job's cancel was requested."""


class InferenceError(Exception):
    """A failure that retrying will not mend: bad params for this model, broken weights."""

    code = "inference_error"
    transient = False


class TransientInferenceError(InferenceError):
    """A failure worth retrying: out of memory, a remote engine that timed out."""

    code = "transient_error"
    transient = True


class ModelLoadError(InferenceError):
    code = "model_load_failed"


class ContentFiltered(InferenceError):
    """The engine's safety filter refused the prompt, an input or the output; never retried."""

    code = "content_filtered"


@dataclass(frozen=True)
class InputFile:
    """An uploaded asset a job reads, already checked at upload time."""

    asset_id: str
    data: bytes
    content_type: str
    media_kind: str


def _no_inputs(asset_id: str) -> InputFile:
    raise LookupError(f"no input {asset_id!r} for this run")


@dataclass
class RunContext:
    job_id: str
    seed: int
    on_step: Callable[[int, int], None] = lambda step, total: None
    on_event: Callable[[str, dict[str, Any]], None] = lambda kind, data: None
    load_input: Callable[[str], InputFile] = _no_inputs

    def step(self, step: int, total: int) -> None:
        """Report progress; raises JobCanceled if the job should stop."""
        self.on_step(step, total)

    def emit(self, kind: str, data: dict[str, Any]) -> None:
        """Send a job event to SSE listeners, e.g. ``token`` with ``{"text": ...}``."""
        self.on_event(kind, data)


@dataclass
class InferenceResult:
    """What a run made: images become PNG assets; text and data go to the job's ``result``.

    Transcripts put ``segments`` ([{start, end, text}], seconds) in ``data``."""

    images: list[Image.Image] = field(default_factory=list)
    text: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


class InferenceBackend(Protocol):
    spec: ModelSpec

    def setup(self) -> None: ...

    def run(self, params: BaseModel, ctx: RunContext) -> InferenceResult: ...

    def unload(self) -> None: ...

    def memory_bytes(self) -> int: ...


BackendFactory = Callable[[ModelSpec, "BackendEnv"], InferenceBackend]


def _no_models(model_id: str) -> AbstractContextManager[InferenceBackend]:
    raise LookupError(f"model {model_id!r} is not available here")


@dataclass(frozen=True)
class BackendEnv:
    """What a backend may know about the installation."""

    models_dir: Path
    use_model: Callable[[str], AbstractContextManager[InferenceBackend]] = _no_models
    """Borrow another registry model (e.g. a captioner's rewriter) from the warm-model cache."""
