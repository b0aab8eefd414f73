"""A scripted test backend: each model id gets a plan of failures, then succeeds.

The backend is registered as ``test-scripted``; ``scripted_spec(model_id)``
makes a registry entry for it, and the ``plans`` fixture says what each
model does on each call."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from PIL import Image

from aptmagic.config import Settings
from aptmagic.inference.base import BackendEnv, InferenceResult, RunContext
from aptmagic.inference.registry import register_backend
from aptmagic.inference.spec import ModelSpec
from tests.conftest import LiveServer, create_account, start_server

BACKEND = "test-scripted"
Failure = Callable[[], BaseException]


@dataclass
class Plan:
    """What a scripted model does: raise ``failures[i]()`` on call i+1, then
    raise ``always()`` on every later call if set, else succeed."""

    failures: list[Failure] = field(default_factory=list)
    always: Failure | None = None
    setup_failures: list[Failure] = field(default_factory=list)
    gate: threading.Event | None = None
    calls: int = 0
    setups: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_call(self) -> int:
        with self.lock:
            self.calls += 1
            return self.calls


PLANS: dict[str, Plan] = {}


class ScriptedBackend:
    def __init__(self, spec: ModelSpec, env: BackendEnv) -> None:
        self.spec = spec

    def _plan(self) -> Plan:
        return PLANS.setdefault(self.spec.id, Plan())

    def setup(self) -> None:
        plan = self._plan()
        with plan.lock:
            plan.setups += 1
            setups = plan.setups
        if setups <= len(plan.setup_failures):
            raise plan.setup_failures[setups - 1]()

    def run(self, params: Any, ctx: RunContext) -> InferenceResult:
        plan = self._plan()
        call = plan.next_call()
        if plan.gate is not None:
            assert plan.gate.wait(30), "the test never opened the gate"
        if call <= len(plan.failures):
            raise plan.failures[call - 1]()
        if plan.always is not None:
            raise plan.always()
        ctx.step(0, 2)
        ctx.step(1, 2)
        ctx.step(2, 2)
        return InferenceResult(images=[Image.new("RGB", (params.width, params.height), (call * 37 % 256, 90, 160))])

    def unload(self) -> None:
        pass

    def memory_bytes(self) -> int:
        return 1


register_backend(BACKEND)(ScriptedBackend)


def scripted_spec(model_id: str) -> ModelSpec:
    return ModelSpec(
        id=model_id,
        task="text-to-image",
        backend=BACKEND,
        source=f"test:{model_id}",
        version="1",
        device="cpu",
        default_params={"width": 64, "height": 64, "steps": 2, "guidance": 0.0},
        limits={"max_width": 128, "max_height": 128, "max_steps": 10},
    )


SCRIPTED_MODELS = ["flaky", "steady", "broken", "other"]


@pytest.fixture
def plans() -> Iterator[dict[str, Plan]]:
    PLANS.clear()
    yield PLANS
    for plan in PLANS.values():  # never leave a worker thread waiting on a gate
        if plan.gate is not None:
            plan.gate.set()
    PLANS.clear()


@pytest.fixture
def start_live(make_settings: Callable[..., Settings], plans: dict[str, Plan]) -> Iterator[Callable[..., LiveServer]]:
    """Start a live server whose registry also holds the scripted models."""
    servers: list[LiveServer] = []

    def start(**overrides: Any) -> LiveServer:
        overrides.setdefault("models", [scripted_spec(m) for m in SCRIPTED_MODELS])
        server = start_server(make_settings(**overrides))
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def http_for() -> Iterator[Callable[[LiveServer], httpx.Client]]:
    clients: list[httpx.Client] = []

    def make(server: LiveServer) -> httpx.Client:
        """An admin's client: these tests put jobs in the database directly, with no owner."""
        admin = create_account(server.services, f"admin{len(clients)}", admin=True)
        client = httpx.Client(base_url=server.url, timeout=30, headers=admin.headers)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
