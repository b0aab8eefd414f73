"""One registry model behind the SageMaker container contract: validate, run, answer JSON.

An invocation is ``{"task", "params", "inputs"}``: ``params`` are the job API's
params of the task, checked with the same params models and the model's
limits; ``inputs`` maps each asset id the params name (``source``) to
``{"data": base64, "content_type", "media_kind"}``, since a container has no
blob store. The answer is ``{"task", "model", "seed", "images": [base64 PNG],
"text", "data"}``; errors are ``{"error": {"code", "message", "transient"}}``."""

from __future__ import annotations

import base64
import binascii
import io
import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from aptmagic.inference.base import InferenceError, InferenceResult, InputFile, JobCanceled, RunContext
from aptmagic.inference.cache import ModelCache
from aptmagic.inference.params import LimitViolation, SourceParams, TaskParams, params_model, task_names
from aptmagic.inference.registry import ModelRegistry
from aptmagic.inference.spec import ModelSpec

log = logging.getLogger(__name__)
MEDIA_KINDS = ("image", "video", "audio")


class InvocationError(Exception):
    """An invocation that cannot run: its HTTP status, code and message."""

    def __init__(self, status: int, code: str, message: str, transient: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.transient = transient

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "transient": self.transient}}


class InputIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data: str = Field(description="The file, base64.")
    content_type: str = Field("application/octet-stream", max_length=200)
    media_kind: str = Field(pattern=r"^(image|video|audio)$")


class InvocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task: str = Field(max_length=64)
    params: dict[str, Any] = Field(default_factory=dict)
    inputs: dict[str, InputIn] = Field(default_factory=dict, max_length=16)


@dataclass
class Invocation:
    params: TaskParams
    seed: int
    inputs: dict[str, InputFile] = field(default_factory=dict)

    @property
    def task(self) -> str:
        return self.params.task_name


class ModelServer:
    def __init__(self, registry: ModelRegistry, models: ModelCache, model_id: str) -> None:
        self.spec: ModelSpec = registry.get(model_id)
        self.models = models
        self.ready = threading.Event()
        self.failure: str | None = None

    # loading
    def load(self) -> None:
        """Load the model once; ``/ping`` answers 200 from then on."""
        try:
            with self.models.use(self.spec):
                pass
        except Exception as exc:
            self.failure = f"{type(exc).__name__}: {exc}"
            log.exception("model failed to load", extra={"model": self.spec.id})
            return
        self.ready.set()
        log.info("model ready", extra={"model": self.spec.id})

    # validating
    def parse(self, raw: bytes) -> Invocation:
        try:
            body = InvocationIn.model_validate_json(raw)
        except ValidationError as exc:
            raise InvocationError(400, "invalid_request", _problems(exc)) from None
        if body.task not in task_names():
            raise InvocationError(400, "unknown_task", f"unknown task {body.task!r}; tasks: {', '.join(task_names())}")
        if not self.spec.serves(body.task):
            raise InvocationError(400, "task_not_served", f"model {self.spec.id!r} does not serve {body.task!r}")
        params = self._params(body.task, body.params)
        seed = params.seed if params.seed is not None else secrets.randbelow(2**32)
        return Invocation(params, seed, self._inputs(params, body.inputs))

    def _params(self, task: str, raw: dict[str, Any]) -> TaskParams:
        try:
            return params_model(task).model_validate(raw).resolve(self.spec)
        except ValidationError as exc:
            raise InvocationError(400, "invalid_params", _problems(exc)) from None
        except LimitViolation as exc:
            raise InvocationError(400, "limit_exceeded", exc.message) from None

    def _inputs(self, params: TaskParams, given: dict[str, InputIn]) -> dict[str, InputFile]:
        if not isinstance(params, SourceParams):
            return {}
        inputs: dict[str, InputFile] = {}
        for asset_id in params.input_asset_ids():
            item = given.get(asset_id)
            if item is None:
                raise InvocationError(400, "missing_input", f"inputs has no file for source {asset_id!r}")
            if item.media_kind not in params.source_kinds:
                kinds = ", ".join(params.source_kinds)
                raise InvocationError(400, "invalid_input", f"{params.task_name} reads {kinds}, not {item.media_kind}")
            try:
                data = base64.b64decode(item.data, validate=True)
            except (binascii.Error, ValueError):
                raise InvocationError(400, "invalid_input", f"input {asset_id!r} is not valid base64") from None
            inputs[asset_id] = InputFile(asset_id, data, item.content_type, item.media_kind)
        return inputs

    # running
    def run(
        self,
        invocation: Invocation,
        on_event: Callable[[str, dict[str, Any]], None] = lambda kind, data: None,
        canceled: threading.Event | None = None,
    ) -> dict[str, Any]:
        """Run in a worker thread; ``canceled`` stops it at the next step (a client that went away)."""
        stop = canceled or threading.Event()

        def on_step(step: int, total: int) -> None:
            if stop.is_set():
                raise JobCanceled("invocation")
            on_event("progress", {"step": step, "total": total})

        ctx = RunContext(
            job_id=f"invocation-{secrets.token_hex(6)}",
            seed=invocation.seed,
            on_step=on_step,
            on_event=on_event,
            load_input=lambda asset_id: _lookup(invocation.inputs, asset_id),
        )
        try:
            with self.models.use(self.spec) as backend:
                result = backend.run(invocation.params, ctx)
        except InferenceError as exc:
            status = 503 if exc.transient else 400
            raise InvocationError(status, exc.code, str(exc), exc.transient) from None
        return self.answer(invocation, result)

    def answer(self, invocation: Invocation, result: InferenceResult) -> dict[str, Any]:
        return {
            "task": invocation.task,
            "model": self.spec.id,
            "seed": invocation.seed,
            "images": [_png_b64(image) for image in result.images],
            "text": result.text,
            "data": result.data,
        }


def _lookup(inputs: dict[str, InputFile], asset_id: str) -> InputFile:
    try:
        return inputs[asset_id]
    except KeyError:
        raise InferenceError(f"no input {asset_id!r} in this invocation") from None


def _png_b64(image: Any) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())
