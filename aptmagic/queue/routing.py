"""Which broker queue a job goes to: its model's device decides."""

from __future__ import annotations

from typing import Protocol

CPU = "cpu"
GPU = "gpu"
QUEUES = (GPU, CPU)


class Placed(Protocol):
    """A model spec, as far as routing reads it."""

    @property
    def device(self) -> str: ...


def queue_for(spec: Placed) -> str:
    """``cpu`` models go to the cpu queue; cuda, mps and auto (a GPU when there is one) to gpu."""
    return CPU if spec.device == "cpu" else GPU


def broker_queue(name: str) -> str:
    """A row's queue_name as a broker queue; rows from before routing ("default") go to cpu."""
    return name if name in QUEUES else CPU
