"""/healthz (the process is alive) and /readyz (its database, storage, shared state and queue answer).

/readyz also lists the engines whose circuit is open or half-open. They do not make the
process unready: other models (local ones, failovers, stored results) still serve."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine, text

from aptmagic.api.deps import StoreDep, provider
from aptmagic.inference.circuit import EngineCircuits
from aptmagic.kit.errors import Unavailable
from aptmagic.queue.base import JobQueue
from aptmagic.shared_state.state import SharedState
from aptmagic.storage.base import BlobStore

EngineDep = Annotated[Engine, Depends(provider(Engine))]
SharedStateDep = Annotated[SharedState | None, Depends(provider(SharedState))]
QueueDep = Annotated[JobQueue, Depends(provider(JobQueue))]
CircuitsDep = Annotated[EngineCircuits, Depends(provider(EngineCircuits))]

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(
    engine: EngineDep, store: StoreDep, shared: SharedStateDep, queue: QueueDep, circuits: CircuitsDep
) -> dict[str, object]:
    """Database, storage and queue reachable; 503 otherwise. ``engines`` names each model whose
    engine's circuit is not closed (open or half-open), without making the process unready."""
    checks = await run_in_threadpool(_check, engine, store, shared, queue)
    if any(not value.startswith("ok") for value in checks.values()):
        raise Unavailable("not ready", details=checks, headers={"Retry-After": "5"})
    engines = {model_id: str(state) for model_id, state in circuits.not_closed().items()}
    return {"status": "ok", "checks": checks, "engines": engines}


def _check(engine: Engine, store: BlobStore, shared: SharedState | None, queue: JobQueue) -> dict[str, str]:
    probes: dict[str, Callable[[], object]] = {"database": lambda: _ping(engine), "storage": store.check}
    if shared is not None and shared.client is not None:
        probes["shared_state"] = shared.check
    probes["queue"] = lambda: f"depth {queue.depth()}"
    return {name: _outcome(probe) for name, probe in probes.items()}


def _ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def _outcome(probe: Callable[[], object]) -> str:
    """Either ``ok``, ``ok (what the probe answered)``, or the error's type: any failure means not ready."""
    try:
        answer = probe()
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "ok" if answer is None else f"ok ({answer})"
