"""Celery: job ids go through a broker (Redis or SQS) to ``aptmagic worker`` processes.

The message carries the job id only, as JSON; the row is the truth. Delivery is
at least once: late acknowledgement (after the job ran), reject-on-worker-lost
(a worker killed mid-job leaves the message to be delivered again), one
message prefetched per worker thread. Duplicates are dropped at claim (see
``aptmagic.jobs.lease``)."""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol
from urllib.parse import urlsplit

from celery import Celery
from kombu import Queue  # type: ignore[attr-defined]
from kombu.exceptions import ChannelError

from aptmagic.kit.errors import Unavailable
from aptmagic.queue.base import JobHandler
from aptmagic.queue.routing import QUEUES, broker_queue

log = logging.getLogger(__name__)

TASK_NAME = "aptmagic.run_job"
RETRY_AFTER_SECONDS = "5"
CHECK_TTL_SECONDS = 1.0
MAX_JOB_ID_LENGTH = 64


class QueueUnavailable(Unavailable):
    code = "queue_unavailable"

    def __init__(self, message: str) -> None:
        super().__init__(message, headers={"Retry-After": RETRY_AFTER_SECONDS})


class Settings(Protocol):
    """The settings this transport reads (``aptmagic.config.Settings`` has them all)."""

    @property
    def broker_url(self) -> str | None: ...
    @property
    def broker_connect_timeout_seconds(self) -> float: ...
    @property
    def broker_visibility_timeout_seconds(self) -> int: ...
    @property
    def queue_name_prefix(self) -> str: ...
    @property
    def sqs_endpoint_url(self) -> str | None: ...
    @property
    def sqs_region(self) -> str | None: ...
    @property
    def log_level(self) -> str: ...


def is_sqs(url: str) -> bool:
    return url.startswith("sqs://")


def broker_url(settings: Settings) -> str:
    """The broker URL, with sqs_endpoint_url folded in (kombu's SQS transport takes its endpoint from the URL)."""
    url = settings.broker_url or ""
    if not is_sqs(url) or not settings.sqs_endpoint_url:
        return url
    endpoint = urlsplit(settings.sqs_endpoint_url)
    userinfo = urlsplit(url).netloc.rpartition("@")[0]
    return f"sqs://{userinfo + '@' if userinfo else ''}{endpoint.netloc}"


def transport_options(settings: Settings) -> dict[str, Any]:
    options: dict[str, Any] = {"visibility_timeout": settings.broker_visibility_timeout_seconds}
    if is_sqs(settings.broker_url or ""):
        options.update(
            region=settings.sqs_region or "us-east-1",
            polling_interval=0.2,
            wait_time_seconds=1,
        )
        if settings.sqs_endpoint_url:
            options["is_secure"] = settings.sqs_endpoint_url.startswith("https://")
    else:
        timeout = settings.broker_connect_timeout_seconds
        options.update(socket_connect_timeout=timeout, socket_timeout=max(timeout, 10.0), retry_on_timeout=False)
    return options


def make_celery_app(settings: Settings) -> Celery:
    app = Celery("aptmagic", broker=broker_url(settings), set_as_current=False)
    names = [settings.queue_name_prefix + name for name in QUEUES]
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        result_serializer="json",
        task_ignore_result=True,
        result_backend=None,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_queues=[Queue(name, routing_key=name) for name in names],  # type: ignore[no-untyped-call]
        task_default_queue=names[-1],
        task_create_missing_queues=False,
        broker_transport_options=transport_options(settings),
        broker_connection_timeout=settings.broker_connect_timeout_seconds,
        broker_connection_retry_on_startup=True,
        broker_pool_limit=10,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        task_send_sent_event=False,
        worker_enable_remote_control=False,
        enable_utc=True,
    )
    return app


class CeleryQueue:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.prefix = settings.queue_name_prefix
        self.app = make_celery_app(settings)
        self._handler: JobHandler | None = None
        self._checked_at = 0.0

        def run_job(job_id: Any) -> None:
            self._deliver(job_id)

        # shared=False: each app has its own task, bound to this queue (several apps in one test process)
        self.task = self.app.task(
            name=TASK_NAME, shared=False, acks_late=True, reject_on_worker_lost=True, ignore_result=True
        )(run_job)

    @property
    def runs_workers_here(self) -> bool:
        return False

    @property
    def is_sqs(self) -> bool:
        return is_sqs(self.settings.broker_url or "")

    def broker_queue(self, queue: str) -> str:
        return self.prefix + broker_queue(queue)

    def enqueue(self, job_id: str, queue: str = "cpu", delay: float = 0.0) -> None:
        try:
            self.task.apply_async(
                args=[job_id],
                queue=self.broker_queue(queue),
                routing_key=self.broker_queue(queue),
                countdown=delay if delay > 0 else None,
                retry=True,
                retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2},
            )
        except Exception as exc:  # kombu raises OperationalError, redis and botocore their own
            self._checked_at = 0.0
            raise QueueUnavailable(f"the job queue is unavailable ({type(exc).__name__}); retry shortly") from exc

    def check(self) -> None:
        """Raise QueueUnavailable unless the broker answered within the last CHECK_TTL seconds or
        answers now (bounded by the connect timeout). A broker lost after a passed check costs
        nothing either: the job is committed and the re-dispatch sweep sends it."""
        if time.monotonic() - self._checked_at < CHECK_TTL_SECONDS:
            return
        try:
            with self.app.producer_pool.acquire(
                block=True, timeout=self.settings.broker_connect_timeout_seconds
            ) as producer:
                conn = producer.connection
                conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0.1,
                                       timeout=self.settings.broker_connect_timeout_seconds)  # fmt: skip
                if not self.is_sqs:
                    conn.default_channel.client.ping()
        except Exception as exc:
            self._checked_at = 0.0
            raise QueueUnavailable(f"the job queue is unavailable ({type(exc).__name__}); retry shortly") from exc
        self._checked_at = time.monotonic()

    def start(self, handler: JobHandler) -> None:
        """Set what a delivered id runs; ``run_worker`` then consumes in this process."""
        self._handler = handler

    def _deliver(self, job_id: Any) -> None:
        if not isinstance(job_id, str) or not 0 < len(job_id) <= MAX_JOB_ID_LENGTH:
            log.warning("dropped a malformed job message", extra={"job_id": repr(job_id)[:80]})
            return
        if self._handler is None:
            raise RuntimeError("this process does not run jobs (no handler was started)")
        self._handler(job_id)

    def worker(self, queues: list[str], concurrency: int, hostname: str | None = None) -> Any:
        """A Celery worker consuming ``queues`` (cpu, gpu) with ``concurrency`` threads."""
        return self.app.Worker(
            queues=[self.broker_queue(name) for name in queues],
            concurrency=concurrency,
            pool="threads",
            hostname=hostname,
            without_gossip=True,
            without_mingle=True,
            without_heartbeat=True,
            optimization="fair",
            loglevel=self.settings.log_level,
        )

    def stop(self, timeout: float) -> None:
        self.app.close()

    def depths(self) -> dict[str, int]:
        """Messages waiting per queue (not counting the ones workers hold)."""
        try:
            with self.app.connection_for_read() as conn:
                conn.ensure_connection(max_retries=1, timeout=self.settings.broker_connect_timeout_seconds)
                channel = conn.default_channel
                return {name: self._size(channel, self.broker_queue(name)) for name in QUEUES}
        except Exception as exc:
            raise QueueUnavailable(f"the job queue is unavailable ({type(exc).__name__})") from exc

    @staticmethod
    def _size(channel: Any, name: str) -> int:
        try:
            return int(channel.queue_declare(queue=name, passive=True).message_count)
        except ChannelError:  # the broker has no such queue yet: nothing was ever sent to it
            return 0

    def depth(self) -> int:
        return sum(self.depths().values())
