"""The embedded queue: worker threads in the API process."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time

from aptmagic.queue.base import JobHandler

log = logging.getLogger(__name__)


class InProcessQueue:
    def __init__(self, concurrency: int = 1) -> None:
        self.concurrency = concurrency
        self._heap: list[tuple[float, int, str]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._stopping = False
        self._handler: JobHandler | None = None

    @property
    def runs_workers_here(self) -> bool:
        return True

    def enqueue(self, job_id: str, queue: str = "cpu", delay: float = 0.0) -> None:
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + max(delay, 0.0), next(self._seq), job_id))
            self._cond.notify()

    def start(self, handler: JobHandler) -> None:
        self._handler = handler
        self._stopping = False
        for index in range(self.concurrency):
            thread = threading.Thread(target=self._work, name=f"aptmagic-worker-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _next(self) -> str | None:
        with self._cond:
            while not self._stopping:
                if self._heap:
                    ready_at = self._heap[0][0]
                    wait = ready_at - time.monotonic()
                    if wait <= 0:
                        return heapq.heappop(self._heap)[2]
                    self._cond.wait(wait)
                else:
                    self._cond.wait()
            return None

    def _work(self) -> None:
        assert self._handler is not None
        while (job_id := self._next()) is not None:
            try:
                self._handler(job_id)
            except Exception:  # the handler records failures itself; this is a last guard
                log.exception("job handler crashed", extra={"job_id": job_id})

    def stop(self, timeout: float) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads = [t for t in self._threads if t.is_alive()]
        if self._threads:
            log.warning("workers still busy at shutdown; their jobs are requeued at next start")

    def depth(self) -> int:
        with self._cond:
            return len(self._heap)

    def depths(self) -> dict[str, int]:
        return {"inprocess": self.depth()}

    def check(self) -> None:
        """Always takes ids: the queue is this process's memory."""
