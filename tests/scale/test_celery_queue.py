"""The Celery queue backend: JSON only, late acks, routing by device, Redis and SQS (moto)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from aptmagic.config import Settings
from aptmagic.inference.spec import ModelSpec
from aptmagic.queue.celery import CeleryQueue, broker_url
from aptmagic.queue.routing import queue_for
from tests.support.backends import celery_settings
from tests.support.services import MotoServer, RedisServer


class Received:
    def __init__(self) -> None:
        self.ids: list[str] = []
        self.cond = threading.Condition()

    def __call__(self, job_id: str) -> None:
        with self.cond:
            self.ids.append(job_id)
            self.cond.notify_all()

    def wait(self, count: int, timeout: float = 30) -> list[str]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.ids) < count:
                left = deadline - time.monotonic()
                assert left > 0, f"got {self.ids}, wanted {count} ids"
                self.cond.wait(left)
            return list(self.ids)


@pytest.fixture
def consume() -> Iterator[Callable[[CeleryQueue, list[str]], Received]]:
    from celery.contrib.testing.worker import start_worker

    contexts: list[Any] = []

    def start(queue: CeleryQueue, queues: list[str]) -> Received:
        received = Received()
        queue.start(received)
        context = start_worker(
            queue.app, pool="threads", concurrency=1, perform_ping_check=False, shutdown_timeout=10,
            queues=[queue.broker_queue(name) for name in queues],
        )  # fmt: skip
        context.__enter__()
        contexts.append(context)
        return received

    yield start
    for context in contexts:
        context.__exit__(None, None, None)


def spec(device: str) -> ModelSpec:
    return ModelSpec(id=f"m-{device}", task="text-to-image", backend="x", source="test:x", device=device)  # type: ignore[arg-type]


def test_routing_by_device() -> None:
    assert queue_for(spec("cpu")) == "cpu"
    assert [queue_for(spec(d)) for d in ("cuda", "mps", "auto")] == ["gpu", "gpu", "gpu"]


def test_delivery_settings(make_settings: Callable[..., Settings]) -> None:
    queue = CeleryQueue(
        make_settings(**celery_settings("redis://127.0.0.1:1/0"), broker_visibility_timeout_seconds=5400)
    )
    conf = queue.app.conf
    assert conf.task_serializer == "json" and list(conf.accept_content) == ["json"]
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    assert conf.broker_transport_options["visibility_timeout"] == 5400
    assert queue.runs_workers_here is False
    with pytest.raises(ValueError, match="longer than lease_seconds"):
        make_settings(**celery_settings("redis://x"), broker_visibility_timeout_seconds=30, lease_seconds=60)
    with pytest.raises(ValueError, match="broker_url"):
        make_settings(queue_backend="celery")
    with pytest.raises(ValueError, match="broker_url must start"):
        make_settings(queue_backend="celery", broker_url="amqp://x")


def test_redis_round_trip_routes_and_carries_the_id_only(
    redis_server: RedisServer, make_settings: Callable[..., Settings], consume: Callable[..., Received]
) -> None:
    import redis

    queue = CeleryQueue(make_settings(**celery_settings(redis_server.url)))
    queue.enqueue("job-on-gpu", "gpu")
    queue.enqueue("job-on-cpu", "cpu")
    assert queue.depths() == {"gpu": 1, "cpu": 1}
    raw = redis.Redis.from_url(redis_server.url).lindex(queue.broker_queue("cpu"), 0)
    message = json.loads(raw)
    assert message["content-type"] == "application/json"
    assert message["headers"]["task"] == "aptmagic.run_job"

    received = consume(queue, ["cpu"])  # a cpu-only worker never takes the gpu job
    assert received.wait(1) == ["job-on-cpu"]
    time.sleep(0.5)
    assert received.ids == ["job-on-cpu"]
    assert queue.depths() == {"gpu": 1, "cpu": 0}
    queue.stop(1)


def test_pickled_and_malformed_messages_run_nothing(
    redis_server: RedisServer, make_settings: Callable[..., Settings], consume: Callable[..., Received]
) -> None:
    queue = CeleryQueue(make_settings(**celery_settings(redis_server.url)))
    received = consume(queue, ["cpu"])
    name = queue.broker_queue("cpu")
    with queue.app.producer_or_acquire() as producer:
        producer.publish({"task": "x"}, routing_key=name, serializer="pickle",
                         headers={"task": "aptmagic.run_job", "id": "p1", "argsrepr": ""})  # fmt: skip
    queue.task.apply_async(args=[{"not": "an id"}], queue=name)
    queue.task.apply_async(args=["x" * 500], queue=name)
    queue.enqueue("a-real-id", "cpu")
    assert received.wait(1) == ["a-real-id"]


def test_sqs_round_trip_through_moto(
    moto_server: MotoServer, make_settings: Callable[..., Settings], consume: Callable[..., Received],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    for key, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }.items():
        monkeypatch.setenv(key, value)
    settings = make_settings(
        queue_backend="celery", broker_url="sqs://", sqs_endpoint_url=moto_server.url, sqs_region="eu-west-1",
        queue_name_prefix="sqs-test-",
    )  # fmt: skip
    assert broker_url(settings) == f"sqs://{moto_server.url.removeprefix('http://')}"
    queue = CeleryQueue(settings)
    queue.check()
    queue.enqueue("sqs-job-1", "gpu")
    queue.enqueue("sqs-job-2", "gpu")
    received = consume(queue, ["gpu"])
    assert sorted(received.wait(2, timeout=60)) == ["sqs-job-1", "sqs-job-2"]

    import boto3

    sqs = boto3.session.Session().client("sqs", endpoint_url=moto_server.url, region_name="eu-west-1")
    urls = sqs.list_queues(QueueNamePrefix="sqs-test-").get("QueueUrls", [])
    assert any(url.endswith("/sqs-test-gpu") for url in urls), urls
    deadline = time.monotonic() + 30
    while queue.depths()["gpu"]:
        assert time.monotonic() < deadline
        time.sleep(0.2)
