from __future__ import annotations

from aptmagic.config import Settings
from aptmagic.queue.base import JobQueue
from aptmagic.queue.inprocess import InProcessQueue


def create_queue(settings: Settings) -> JobQueue:
    if settings.queue_backend == "inprocess":
        return InProcessQueue(settings.worker_concurrency)
    if settings.queue_backend == "celery":
        from aptmagic.queue.celery import CeleryQueue  # celery and kombu load only when chosen

        return CeleryQueue(settings)
    raise ValueError(f"unknown queue backend {settings.queue_backend!r}")
