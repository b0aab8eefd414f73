"""Runs a job on its model's engine, and on the model's failover engines when that one is down.

Within one attempt the engines are tried in order (``ModelRegistry.engines_for``): the
job's model, then its ``failover`` models that serve the task and accept its params.
An engine is skipped at once while its circuit is open; a transient failure (throttling,
5xx, a timeout, a lost connection, out of memory) counts against its circuit and moves
on to the next. A permanent error (bad params, auth, ``content_filtered``) ends the
attempt: the job fails with that error and no other engine is tried. When no engine
answered, ``EnginesDown`` says why; the runner then answers from a stored result or
retries the job later."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aptmagic.inference.base import InferenceError, InferenceResult, JobCanceled, ModelLoadError, RunContext
from aptmagic.inference.cache import ModelCache
from aptmagic.inference.circuit import CircuitBreaker, CircuitOpen, EngineCircuits
from aptmagic.inference.params import LimitViolation, TaskParams
from aptmagic.inference.registry import ModelRegistry
from aptmagic.inference.spec import ModelSpec
from aptmagic.jobs.hooks import EngineObserver, NoEngineObserver

log = logging.getLogger(__name__)

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (OSError, TimeoutError, ConnectionError, MemoryError)
ENGINE = "engine"


def failover_label(model_id: str) -> str:
    return f"failover:{model_id}"


@dataclass(frozen=True)
class Served:
    result: InferenceResult
    served_from: str  # "engine" or "failover:<model id>"


class EnginesDown(Exception):
    """No engine of the job's model answered in this attempt; worth retrying later."""

    def __init__(self, code: str, message: str, retry_in: float = 0.0) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_in = retry_in  # when every engine was refused by its circuit: until the first may probe


@dataclass
class _Tried:
    """The engines of one attempt that did not answer."""

    failures: list[tuple[str, str, str]] = field(default_factory=list)  # (model id, code, message)
    refused_for: list[float] = field(default_factory=list)

    def down(self, model_id: str) -> EnginesDown:
        """Called only after the job's own model was tried, so there is at least one failure."""
        retry_in = min(self.refused_for) if len(self.refused_for) == len(self.failures) else 0.0
        if len(self.failures) == 1:
            _, code, message = self.failures[0]
            return EnginesDown(code, message, retry_in)
        reasons = "; ".join(f"{engine}: {message}" for engine, _, message in self.failures)
        return EnginesDown(self.failures[-1][1], f"every engine of model {model_id!r} is down: {reasons}", retry_in)


def describe(exc: BaseException) -> str:
    """An error as a job shows it: our own errors by their message, others with their type."""
    return str(exc) if isinstance(exc, InferenceError) else f"{type(exc).__name__}: {exc}"


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, InferenceError) and exc.transient or isinstance(exc, TRANSIENT_ERRORS)


class EngineRunner:
    def __init__(
        self,
        registry: ModelRegistry,
        models: ModelCache,
        circuits: EngineCircuits,
        observer: EngineObserver | None = None,
    ) -> None:
        self.registry = registry
        self.models = models
        self.circuits = circuits
        self.observer = observer or NoEngineObserver()

    def run(
        self, spec: ModelSpec, task: str, params: TaskParams, ctx: RunContext, still_wanted: Callable[[], None]
    ) -> Served:
        """``still_wanted`` raises JobCanceled when the job should stop; it is asked before each failover."""
        tried = _Tried()
        for index, engine in enumerate(self.registry.engines_for(spec, task)):
            engine_params = self._params_for(engine, params, ctx.job_id) if index else params
            if engine_params is None:
                continue
            if index:
                still_wanted()
            circuit = self.circuits.of(engine)
            if not circuit.allow():
                refused = CircuitOpen(engine.id, circuit.retry_in())
                self.observer.engine_call(engine.id, engine.backend, None, refused.code)
                tried.failures.append((engine.id, refused.code, str(refused)))
                tried.refused_for.append(refused.retry_in)
                continue
            if index:
                ctx.emit("failover", {"from": spec.id, "to": engine.id, "reason": tried.failures[-1][2]})
            failure = self._call(engine, circuit, engine_params, ctx)
            if isinstance(failure, Served):
                return Served(failure.result, ENGINE if index == 0 else failover_label(engine.id))
            tried.failures.append((engine.id, *failure))
            log.warning("engine failed", extra={"job_id": ctx.job_id, "model": engine.id, "code": failure[0]})
        raise tried.down(spec.id)

    def _call(
        self, engine: ModelSpec, circuit: CircuitBreaker, params: TaskParams, ctx: RunContext
    ) -> Served | tuple[str, str]:
        """The engine's result, or (code, message) of a transient failure; anything else is raised."""
        started = time.perf_counter()
        try:
            with self.models.use(engine) as backend:
                result = backend.run(params, ctx)
        except JobCanceled:
            circuit.released()
            raise
        except Exception as exc:
            code = exc.code if isinstance(exc, InferenceError) else "transient_error"
            transient = is_transient(exc)
            if transient:
                circuit.failed()
            elif isinstance(exc, InferenceError) and not isinstance(exc, ModelLoadError):
                circuit.succeeded()  # the engine answered: it refused this request, it is not down
            else:
                circuit.released()
                code = code if isinstance(exc, InferenceError) else "internal_error"
            self.observer.engine_call(engine.id, engine.backend, time.perf_counter() - started, code)
            if transient:
                return code, describe(exc)
            raise
        circuit.succeeded()
        self.observer.engine_call(engine.id, engine.backend, time.perf_counter() - started, None)
        return Served(result, ENGINE)

    @staticmethod
    def _params_for(engine: ModelSpec, params: TaskParams, job_id: str) -> TaskParams | None:
        """The job's params with the failover model's defaults filled in, or None when they exceed its limits."""
        try:
            return params.resolve(engine)
        except LimitViolation as exc:
            log.info("failover model skipped", extra={"job_id": job_id, "model": engine.id, "reason": exc.message})
            return None
