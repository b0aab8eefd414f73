"""The re-dispatch sweep: nothing committed as queued is lost with a broker message.

A message can be lost after its row committed: the broker was down at the
enqueue, restarted without persistence, or a worker died holding the only copy.
Every ``interval`` seconds this sends again

* queued jobs not started ``redispatch_after`` seconds after they were queued;
* running jobs whose lease expired (their worker died): requeued, or failed with
  ``too_many_deliveries`` when that was their last attempt;

and purges expired idempotency keys. Resending is safe: a duplicate delivery
is dropped at claim. Each row is resent by one process per period (a
conditional UPDATE of queued_at), however many processes sweep."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from aptmagic.db.base import utcnow
from aptmagic.jobs import lease
from aptmagic.jobs.repository import IdempotencyRepository, LeaseRepository
from aptmagic.queue.base import JobQueue

log = logging.getLogger(__name__)
BATCH = 500


class DispatchSweeper:
    def __init__(
        self, session_factory: sessionmaker[Session], queue: JobQueue, *, interval: float, redispatch_after: float
    ) -> None:
        self.session_factory = session_factory
        self.queue = queue
        self.interval = interval
        self.redispatch_after = redispatch_after
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.interval <= 0 or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="aptmagic-dispatch-sweep", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sweep()
            except Exception:  # the database or the broker is away: try again next period
                log.warning("dispatch sweep failed", exc_info=True)

    def sweep(self) -> list[str]:
        """One pass; returns the ids sent again."""
        now = utcnow()
        cutoff = now - timedelta(seconds=self.redispatch_after)
        to_send: list[tuple[str, str]] = []
        with self.session_factory.begin() as session:
            leases = LeaseRepository(session)
            for job_id, queue_name in leases.expired_running(now, BATCH):
                if leases.requeue_expired(job_id, now):
                    to_send.append((job_id, queue_name))
                else:
                    lease.dead_letter(session, job_id, now)
            for job_id, queue_name in leases.stale_queued(cutoff, now, BATCH):
                if leases.mark_redispatched(job_id, cutoff, now):
                    to_send.append((job_id, queue_name))
            IdempotencyRepository(session).purge_expired(now)
        for job_id, queue_name in to_send:
            self.queue.enqueue(job_id, queue_name)
        if to_send:
            log.info("jobs sent to the queue again", extra={"count": len(to_send)})
        return [job_id for job_id, _ in to_send]
