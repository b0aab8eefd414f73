"""A circuit breaker per engine, that is per registry model.

    closed --``circuit_failures`` transient failures in a row--> open
    open --``circuit_cooldown_seconds`` later, the next caller--> half-open: that caller is the one probe
    half-open --the probe succeeds--> closed
    half-open --the probe fails--> open (the cool-down starts again)

While open, and while a probe is out, callers are refused at once (``allow()`` is False),
so jobs go to the next engine instead of waiting for a timeout. A call that ends without
saying whether the engine works (the job was canceled, the backend had a bug) changes
nothing, and a half-open probe's slot is given back.

State lives in this process: each API process and each worker keeps its own circuits.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable

from aptmagic.inference.base import TransientInferenceError
from aptmagic.inference.spec import ModelSpec

Clock = Callable[[], float]


class CircuitState(enum.StrEnum):
    closed = "closed"
    open = "open"
    half_open = "half-open"


class CircuitOpen(TransientInferenceError):
    """The engine's circuit refused the call: it failed recently and its cool-down is not over."""

    code = "engine_unavailable"

    def __init__(self, model_id: str, retry_in: float) -> None:
        super().__init__(f"the engine of model {model_id!r} is down (circuit open, next probe in {retry_in:.1f}s)")
        self.model_id = model_id
        self.retry_in = retry_in


class CircuitBreaker:
    def __init__(
        self,
        name: str,
        failures: int,
        cooldown_seconds: float,
        clock: Clock = time.monotonic,
        on_change: Callable[[str, CircuitState], None] | None = None,
    ) -> None:
        self.name = name
        self.threshold = failures
        self.cooldown_seconds = cooldown_seconds
        self._clock = clock
        self._on_change = on_change
        self._lock = threading.Lock()
        self._state = CircuitState.closed
        self._failures = 0
        self._opened_at = 0.0
        self._probing = False

    @property
    def state(self) -> CircuitState:
        with self._lock:
            return self._state

    @property
    def consecutive_failures(self) -> int:
        with self._lock:
            return self._failures

    def allow(self) -> bool:
        """May a call go to the engine now? In half-open, True for the one probe only."""
        with self._lock:
            if self._state is CircuitState.closed:
                return True
            if self._state is CircuitState.open:
                if self._clock() - self._opened_at < self.cooldown_seconds:
                    return False
                self._set(CircuitState.half_open)
            if self._probing:
                return False
            self._probing = True
            return True

    def retry_in(self) -> float:
        """Seconds until a call may be let through (0 when one may be now). While the half-open
        probe is out its end is unknown: a whole cool-down, so refused callers do not spin."""
        with self._lock:
            if self._state is CircuitState.open:
                return max(0.0, self.cooldown_seconds - (self._clock() - self._opened_at))
            if self._state is CircuitState.half_open and self._probing:
                return self.cooldown_seconds
            return 0.0

    def succeeded(self) -> None:
        """The engine answered (a permanent refusal, such as bad params, counts: the engine is up)."""
        with self._lock:
            self._failures = 0
            self._probing = False
            self._set(CircuitState.closed)

    def failed(self) -> None:
        """A transient failure or a timeout."""
        with self._lock:
            self._failures += 1
            probe_failed = self._state is CircuitState.half_open and self._probing
            self._probing = False
            if probe_failed or self._failures >= self.threshold:
                self._opened_at = self._clock()
                self._set(CircuitState.open)

    def released(self) -> None:
        """The call ended without telling whether the engine works (canceled, an unexpected error)."""
        with self._lock:
            self._probing = False

    def _set(self, state: CircuitState) -> None:
        if state is self._state:
            return
        self._state = state
        if self._on_change is not None:
            self._on_change(self.name, state)


class EngineCircuits:
    """The circuits of every engine this process calls, made on first use with the model's settings."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._circuits: dict[str, CircuitBreaker] = {}
        self.on_change: Callable[[str, CircuitState], None] | None = None  # (model id, new state), for metrics

    def of(self, spec: ModelSpec) -> CircuitBreaker:
        with self._lock:
            circuit = self._circuits.get(spec.id)
            if circuit is None:
                circuit = CircuitBreaker(
                    spec.id, spec.circuit_failures, spec.circuit_cooldown_seconds, self._clock, self._changed
                )
                self._circuits[spec.id] = circuit
                self._changed(spec.id, CircuitState.closed)
            return circuit

    def state(self, model_id: str) -> CircuitState:
        with self._lock:
            circuit = self._circuits.get(model_id)
        return CircuitState.closed if circuit is None else circuit.state

    def not_closed(self) -> dict[str, CircuitState]:
        """The engines that refuse calls now, or are being probed."""
        with self._lock:
            circuits = list(self._circuits.values())
        states = {circuit.name: circuit.state for circuit in circuits}
        return {name: state for name, state in sorted(states.items()) if state is not CircuitState.closed}

    def _changed(self, model_id: str, state: CircuitState) -> None:
        if self.on_change is not None:
            self.on_change(model_id, state)
