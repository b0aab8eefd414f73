"""The daily API request counter.

Each process counts requests in memory per UTC hour and adds them to the
database (one atomic upsert per hour row) every ``flush_seconds``, or on every
request when that is 0. After each write it reports the day's total before
and after to ``on_counted``, which fires the alert when the threshold is
crossed. The periodic checker catches a crossing a crashed process missed."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime

from sqlalchemy.orm import Session, sessionmaker

from aptmagic.db.base import utcnow
from aptmagic.observability.repository import RequestCountRepository

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
OnCounted = Callable[[date, int, int], None]


def hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


class RequestCounter:
    def __init__(
        self, session_factory: sessionmaker[Session], flush_seconds: float, on_counted: OnCounted, clock: Clock = utcnow
    ) -> None:
        self.session_factory = session_factory
        self.flush_seconds = flush_seconds
        self.on_counted = on_counted
        self.clock = clock
        self._pending: Counter[datetime] = Counter()
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, count: int = 1) -> bool:
        """Count requests now; True when the caller should ``flush`` right away."""
        with self._lock:
            self._pending[hour_of(self.clock())] += count
        return self.flush_seconds == 0

    def flush(self) -> None:
        with self._write_lock:  # one writer per process keeps before/after totals exact
            with self._lock:
                pending, self._pending = self._pending, Counter()
            for hour, count in sorted(pending.items()):
                self._write(hour, count)

    def _write(self, hour: datetime, count: int) -> None:
        with self.session_factory.begin() as session:
            repo = RequestCountRepository(session)
            repo.increment(hour, count)
            after = repo.day_total(hour.date())
        self.on_counted(hour.date(), after - count, after)

    def start(self) -> None:
        if self.flush_seconds > 0 and self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="request-counter", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.flush_seconds):
            self.flush_quietly()

    def flush_quietly(self) -> None:
        """flush, logging a failure instead of raising it (a request is never refused for it)."""
        try:
            self.flush()
        except Exception:
            log.exception("could not write the API request count")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
        self.flush_quietly()
