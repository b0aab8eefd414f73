"""``aptmagic worker``: a process that runs jobs from the broker's cpu and/or gpu queues.

Graceful stop (SIGTERM or SIGINT): the worker takes no new job; a running job
has ``shutdown_timeout`` seconds to finish, then it is released at its next
step (back to queued, the attempt not counted, sent to the queue again). A job
that reaches no step in time keeps its lease until the process exits ``grace``
seconds later; the lease then expires and the sweep sends it again. Nothing
that was accepted is lost either way."""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
from typing import Any

from celery import signals

from aptmagic.config import Settings
from aptmagic.queue.celery import CeleryQueue
from aptmagic.wiring.services import Services, build_services

log = logging.getLogger(__name__)
HARD_EXIT_GRACE_SECONDS = 30.0


class ShutdownTimers:
    """Started when the worker begins its warm shutdown."""

    def __init__(self, services: Services, grace: float = HARD_EXIT_GRACE_SECONDS) -> None:
        self.services = services
        self.grace = grace
        self._timers: list[threading.Timer] = []

    def begin(self, **_: Any) -> None:
        if self._timers:
            return
        timeout = self.services.settings.shutdown_timeout
        busy = self.services.runner.leases.held_count()
        log.info("worker stopping", extra={"running_jobs": busy, "release_after_seconds": timeout})
        self._timers = [
            threading.Timer(timeout, self.services.runner.release_running),
            threading.Timer(timeout + self.grace, self._hard_exit),
        ]
        for timer in self._timers:
            timer.daemon = True
            timer.start()

    def _hard_exit(self) -> None:
        log.error("a job neither finished nor reached a step in time; exiting, its lease will expire")
        logging.shutdown()
        os._exit(1)

    def cancel(self) -> None:
        for timer in self._timers:
            timer.cancel()


def run_worker(settings: Settings, queues: list[str], concurrency: int) -> int:
    services = build_services(settings)
    queue = services.queue
    if not isinstance(queue, CeleryQueue):
        raise ValueError("aptmagic worker needs queue_backend = 'celery'")
    services.start()
    queue.start(services.observability.jobs.wrap(services.runner.run))  # request and job ids in its log lines
    timers = ShutdownTimers(services)
    signals.worker_shutting_down.connect(timers.begin, weak=False)
    signals.worker_ready.connect(lambda **_: _announce(queues, concurrency), weak=False)
    worker = queue.worker(queues, concurrency, hostname=f"aptmagic-{os.getpid()}@{socket.gethostname()}")
    try:
        worker.start()
    finally:
        timers.cancel()
        services.stop()
    return int(worker.exitcode or 0)


def _announce(queues: list[str], concurrency: int) -> None:
    log.info("worker ready", extra={"queues": queues, "concurrency": concurrency, "pid": os.getpid()})
    print(f"aptmagic worker ready: queues={','.join(queues)} concurrency={concurrency}", file=sys.stderr, flush=True)
