"""The engine circuit breaker: closed -> open after N transient failures in a row -> one
half-open probe after the cool-down -> closed on success, open again on failure."""

from __future__ import annotations

import threading

import pytest

from aptmagic.inference.base import TransientInferenceError
from aptmagic.inference.circuit import CircuitBreaker, CircuitOpen, CircuitState, EngineCircuits
from aptmagic.inference.spec import ModelSpec


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def breaker(clock: FakeClock, failures: int = 3, cooldown: float = 10.0) -> tuple[CircuitBreaker, list[str]]:
    changes: list[str] = []
    circuit = CircuitBreaker("engine", failures, cooldown, clock, lambda name, state: changes.append(str(state)))
    return circuit, changes


def test_opens_after_n_consecutive_failures_and_refuses_until_the_cool_down(clock: FakeClock) -> None:
    circuit, changes = breaker(clock, failures=3, cooldown=10)
    for _ in range(2):
        assert circuit.allow()
        circuit.failed()
    assert circuit.state is CircuitState.closed
    assert circuit.allow()
    circuit.failed()
    assert circuit.state is CircuitState.open
    assert changes == ["open"]
    assert not circuit.allow()
    assert circuit.retry_in() == pytest.approx(10)
    clock.advance(9.5)
    assert not circuit.allow()
    assert circuit.retry_in() == pytest.approx(0.5)


def test_a_success_resets_the_count_of_failures(clock: FakeClock) -> None:
    circuit, _ = breaker(clock, failures=3)
    for _ in range(5):
        circuit.failed()
        circuit.failed()
        circuit.succeeded()
    assert circuit.state is CircuitState.closed
    assert circuit.consecutive_failures == 0


def test_half_open_lets_one_probe_through_and_closes_on_its_success(clock: FakeClock) -> None:
    circuit, changes = breaker(clock, failures=1, cooldown=5)
    circuit.failed()
    clock.advance(5)
    assert circuit.retry_in() == 0
    assert circuit.allow()  # the probe
    assert circuit.state is CircuitState.half_open
    assert not circuit.allow()  # everyone else waits for the probe
    assert not circuit.allow()
    assert circuit.retry_in() == 5  # a refused caller comes back after a cool-down, not at once
    circuit.succeeded()
    assert circuit.state is CircuitState.closed
    assert circuit.allow() and circuit.allow()
    assert changes == ["open", "half-open", "closed"]


def test_a_failed_probe_opens_the_circuit_for_another_cool_down(clock: FakeClock) -> None:
    circuit, changes = breaker(clock, failures=3, cooldown=5)
    for _ in range(3):
        circuit.failed()
    clock.advance(6)
    assert circuit.allow()
    circuit.failed()  # one failure is enough in half-open
    assert circuit.state is CircuitState.open
    assert not circuit.allow()
    clock.advance(4.9)
    assert not circuit.allow()
    clock.advance(0.2)
    assert circuit.allow()
    assert changes == ["open", "half-open", "open", "half-open"]


def test_a_probe_that_says_nothing_gives_its_slot_back(clock: FakeClock) -> None:
    circuit, _ = breaker(clock, failures=1, cooldown=1)
    circuit.failed()
    clock.advance(1)
    assert circuit.allow()
    circuit.released()  # e.g. the job was canceled during the probe
    assert circuit.state is CircuitState.half_open
    assert circuit.retry_in() == 0
    assert circuit.allow()
    assert not circuit.allow()


def test_only_one_of_many_threads_gets_the_probe(clock: FakeClock) -> None:
    circuit, _ = breaker(clock, failures=1, cooldown=1)
    circuit.failed()
    clock.advance(2)
    barrier = threading.Barrier(16)
    allowed: list[bool] = []
    lock = threading.Lock()

    def call() -> None:
        barrier.wait()
        result = circuit.allow()
        with lock:
            allowed.append(result)

    threads = [threading.Thread(target=call) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(allowed) == [False] * 15 + [True]


def test_concurrent_failures_open_the_circuit_once(clock: FakeClock) -> None:
    circuit, changes = breaker(clock, failures=50, cooldown=1)
    threads = [threading.Thread(target=lambda: [circuit.failed() for _ in range(10)]) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert circuit.consecutive_failures == 80
    assert changes == ["open"]


def test_circuit_open_is_a_transient_error_with_its_own_code() -> None:
    refused = CircuitOpen("bedrock-sd3", 12.34)
    assert isinstance(refused, TransientInferenceError)
    assert refused.code == "engine_unavailable"
    assert "bedrock-sd3" in str(refused) and "12.3s" in str(refused)


def spec(model_id: str, **values: object) -> ModelSpec:
    return ModelSpec.model_validate({"id": model_id, "task": "text", "backend": "openai", "source": "x", **values})


def test_engine_circuits_use_each_models_settings_and_report_changes(clock: FakeClock) -> None:
    circuits = EngineCircuits(clock)
    seen: list[tuple[str, str]] = []
    circuits.on_change = lambda model_id, state: seen.append((model_id, str(state)))
    quick = circuits.of(spec("quick", circuit_failures=1, circuit_cooldown_seconds=2))
    patient = circuits.of(spec("patient", circuit_failures=4))
    assert circuits.of(spec("quick")) is quick
    assert (quick.threshold, quick.cooldown_seconds) == (1, 2)
    assert (patient.threshold, patient.cooldown_seconds) == (4, 30)
    assert circuits.state("never-called") is CircuitState.closed
    quick.failed()
    patient.failed()
    assert circuits.not_closed() == {"quick": CircuitState.open}
    clock.advance(2)
    assert quick.allow()
    assert circuits.not_closed() == {"quick": CircuitState.half_open}
    assert seen == [("quick", "closed"), ("patient", "closed"), ("quick", "open"), ("quick", "half-open")]


def test_circuit_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="circuit_failures"):
        spec("x", circuit_failures=0)
    with pytest.raises(ValueError, match="circuit_cooldown_seconds"):
        spec("x", circuit_cooldown_seconds=0)
