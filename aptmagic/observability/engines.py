"""Engine metrics: each call's latency and errors, each circuit's state, and who served each job."""

from __future__ import annotations

from aptmagic.inference.circuit import CircuitState
from aptmagic.observability.metrics import Metrics


class EngineMetrics:
    """The runner's ``EngineObserver``, and the circuits' ``on_change`` hook."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def engine_call(self, model_id: str, backend: str, seconds: float | None, error_code: str | None) -> None:
        if seconds is not None:
            self.metrics.engine_latency.labels(model_id, backend).observe(seconds)
        if error_code is not None:
            self.metrics.engine_errors.labels(model_id, backend, error_code).inc()

    def served(self, task: str, model_id: str, served_from: str) -> None:
        self.metrics.jobs_served.labels(task, model_id, served_from).inc()

    def circuit_changed(self, model_id: str, state: CircuitState) -> None:
        for each in CircuitState:
            self.metrics.engine_circuit.labels(model_id, str(each)).set(1 if each is state else 0)
