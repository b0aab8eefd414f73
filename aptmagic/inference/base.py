"""The inference backend protocol: load once with setup(), run many, unload().

A backend runs in a worker thread, never on the event loop. It reports each
step through ``RunContext.step``, which raises ``JobCanceled`` when the job's
cancel was requested, so cancel takes effect between steps."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
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


@dataclass
class RunContext:
    job_id: str
    seed: int
    on_step: Callable[[int, int], None] = lambda step, total: None

    def step(self, step: int, total: int) -> None:
        """Report progress; raises JobCanceled if the job should stop."""
        self.on_step(step, total)


@dataclass
class InferenceResult:
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


@dataclass(frozen=True)
class BackendEnv:
    """What a backend may know about the installation."""

    models_dir: Any  # pathlib.Path; Any keeps this module free of settings imports
