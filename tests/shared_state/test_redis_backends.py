"""The Redis implementations on their own: two clients stand for two processes."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import time

import pytest
import redis

from aptmagic.shared_state.cancels import RedisCancelSignals
from aptmagic.shared_state.events import JobEvent, RedisJobEventBus
from aptmagic.shared_state.ratelimit import RedisRateLimiter
from aptmagic.shared_state.redis import SharedStateUnavailable, create_redis
from aptmagic.shared_state.results import RedisResultCache, owner_scope
from aptmagic.shared_state.throttle import RedisLoginThrottle
from tests.support.services import RedisServer, free_port


@pytest.fixture
def rclient2(redis_server: RedisServer) -> redis.Redis:
    return create_redis(redis_server.url, 2.0)


@pytest.fixture
def dead() -> redis.Redis:
    return create_redis(f"redis://127.0.0.1:{free_port()}", 0.5)


def test_token_bucket_is_shared(rclient: redis.Redis, rclient2: redis.Redis, prefix: str) -> None:
    a, b = RedisRateLimiter(rclient, prefix), RedisRateLimiter(rclient2, prefix)
    takes = [(a if i % 2 else b).acquire("ip:1.2.3.4", 1.0, 4) for i in range(4)]
    assert takes == [0.0] * 4
    wait = a.acquire("ip:1.2.3.4", 1.0, 4)
    assert 0.5 < wait <= 1.0
    assert b.acquire("ip:other", 1.0, 4) == 0.0  # another key has its own bucket


def test_token_bucket_refills(rclient: redis.Redis, prefix: str) -> None:
    limiter = RedisRateLimiter(rclient, prefix)
    assert limiter.acquire("k", 20.0, 1) == 0.0
    assert limiter.acquire("k", 20.0, 1) > 0
    time.sleep(0.1)
    assert limiter.acquire("k", 20.0, 1) == 0.0
    assert 0 < rclient.pttl(prefix + "ratelimit:k") <= 1100  # idle buckets expire


def test_token_bucket_is_atomic_under_threads(rclient: redis.Redis, prefix: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    limiter = RedisRateLimiter(rclient, prefix)
    with ThreadPoolExecutor(8) as pool:
        waits = list(pool.map(lambda _: limiter.acquire("burst", 0.001, 25), range(60)))
    assert sum(1 for w in waits if w == 0.0) == 25


def test_login_throttle_is_shared(rclient: redis.Redis, rclient2: redis.Redis, prefix: str) -> None:
    a = RedisLoginThrottle(rclient, prefix, max_failures=3, window=60, lockout=2)
    b = RedisLoginThrottle(rclient2, prefix, max_failures=3, window=60, lockout=2)
    a.failure("account:bob")
    b.failure("account:bob")
    assert a.retry_after("account:bob") == 0
    a.failure("account:bob")
    assert b.retry_after("account:bob", "ip:1.1.1.1") == 2
    b.failure("account:bob")  # one more: the lock doubles
    assert a.retry_after("account:bob") == 4
    a.success("account:bob")
    assert b.retry_after("account:bob") == 0


def test_login_throttle_per_key_limit(rclient: redis.Redis, prefix: str) -> None:
    throttle = RedisLoginThrottle(rclient, prefix, max_failures=1, window=60, lockout=1)
    throttle.failure("ip:9.9.9.9", 3)
    throttle.failure("ip:9.9.9.9", 3)
    assert throttle.retry_after("ip:9.9.9.9") == 0
    throttle.failure("ip:9.9.9.9", 3)
    assert throttle.retry_after("ip:9.9.9.9") == 1


def test_result_cache_is_shared(rclient: redis.Redis, rclient2: redis.Redis, prefix: str) -> None:
    a, b = RedisResultCache(rclient, prefix, 60), RedisResultCache(rclient2, prefix, 60)
    key = owner_scope("abc", "user1")
    assert b.get(key) is None
    a.put(key, "job1")
    assert b.get(key) == "job1"
    assert b.get(owner_scope("abc", "user2")) is None  # per owner
    assert 0 < rclient.ttl(prefix + "result:" + key) <= 60
    b.forget(key)
    assert a.get(key) is None


def test_result_cache_degrades_to_a_miss(
    dead: redis.Redis, prefix: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aptmagic.shared_state import redis as redis_state

    monkeypatch.setattr(redis_state, "_last_warning", {})
    cache = RedisResultCache(dead, prefix, 60)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="aptmagic.shared_state.results"):
        assert cache.get("k") is None
        cache.put("k", "job")
        cache.forget("k")
    assert time.monotonic() - started < 5
    # one warning for the outage, not one per call
    assert [r.message for r in caplog.records] == ["result cache unavailable; answering from the database"]


def test_limiter_and_throttle_raise_unavailable_when_down(dead: redis.Redis, prefix: str) -> None:
    started = time.monotonic()
    with pytest.raises(SharedStateUnavailable) as caught:
        RedisRateLimiter(dead, prefix).acquire("k", 1.0, 1)
    assert caught.value.status_code == 503 and caught.value.headers == {"Retry-After": "5"}
    throttle = RedisLoginThrottle(dead, prefix, 3, 60, 1)
    for call in (lambda: throttle.retry_after("a"), lambda: throttle.failure("a"), lambda: throttle.success("a")):
        with pytest.raises(SharedStateUnavailable):
            call()
    assert time.monotonic() - started < 10


def test_cancel_signal_crosses_clients(rclient: redis.Redis, rclient2: redis.Redis, prefix: str) -> None:
    api, worker = RedisCancelSignals(rclient, prefix), RedisCancelSignals(rclient2, prefix)
    assert not worker.is_requested("job1")
    api.request("job1")
    assert worker.is_requested("job1") and not worker.is_requested("job2")
    worker.clear("job1")
    assert not api.is_requested("job1")


def test_cancel_signals_never_raise_when_down(dead: redis.Redis, prefix: str) -> None:
    signals = RedisCancelSignals(dead, prefix)
    signals.request("j")
    assert signals.is_requested("j") is False
    signals.clear("j")


PUBLISHER = """
import sys
from aptmagic.shared_state.events import JobEvent, RedisJobEventBus
from aptmagic.shared_state.redis import create_redis
bus = RedisJobEventBus(create_redis(sys.argv[1], 2.0), sys.argv[2])
bus.publish(JobEvent("progress", sys.argv[3], {"step": 1, "total": 2}))
"""


def test_an_event_from_another_process_reaches_a_subscriber(
    redis_server: RedisServer, rclient: redis.Redis, prefix: str
) -> None:
    bus = RedisJobEventBus(rclient, prefix)

    async def scenario() -> list[JobEvent | None]:
        sub = bus.subscribe("job42")
        other = bus.subscribe("job43")
        assert await asyncio.to_thread(bus.listening.wait, 10)
        await asyncio.to_thread(
            subprocess.run, [sys.executable, "-c", PUBLISHER, redis_server.url, prefix, "job42"], check=True, timeout=60
        )
        got = [await sub.get(10), await other.get(0.2)]
        sub.close()
        other.close()
        return got

    try:
        event, unrelated = asyncio.run(scenario())
    finally:
        bus.close()
    assert event == JobEvent("progress", "job42", {"step": 1, "total": 2})
    assert unrelated is None
    assert bus.subscriber_count() == 0


def test_malformed_messages_are_dropped(rclient: redis.Redis, prefix: str) -> None:
    bus = RedisJobEventBus(rclient, prefix)

    async def scenario() -> JobEvent | None:
        sub = bus.subscribe("j")
        assert await asyncio.to_thread(bus.listening.wait, 10)
        for junk in (b"not json", b"[]", b'{"type": "x"}'):
            rclient.publish(prefix + "events:j", junk)
        bus.publish(JobEvent("status", "j", {"status": "running"}))
        return await sub.get(5)

    try:
        assert asyncio.run(scenario()) == JobEvent("status", "j", {"status": "running"})
    finally:
        bus.close()


def test_listeners_hear_only_what_their_own_process_publishes(
    rclient: redis.Redis, rclient2: redis.Redis, prefix: str
) -> None:
    """Job metrics and webhooks hang off listeners: an event must reach them once, in the process
    that ran the job, not again in every API process that relays it to its SSE subscribers."""
    worker_bus, api_bus = RedisJobEventBus(rclient, prefix), RedisJobEventBus(rclient2, prefix)
    heard_by_worker: list[JobEvent] = []
    heard_by_api: list[JobEvent] = []
    worker_bus.add_listener(heard_by_worker.append)
    api_bus.add_listener(heard_by_api.append)
    event = JobEvent("status", "j", {"status": "succeeded"})

    async def scenario() -> JobEvent | None:
        sub = api_bus.subscribe("j")
        assert await asyncio.to_thread(api_bus.listening.wait, 10)
        worker_bus.publish(event)
        return await sub.get(5)

    try:
        assert asyncio.run(scenario()) == event  # relayed to the API's subscriber
        assert heard_by_worker == [event] and heard_by_api == []
    finally:
        worker_bus.close()
        api_bus.close()


def test_publish_without_redis_reaches_local_subscribers(dead: redis.Redis, prefix: str) -> None:
    bus = RedisJobEventBus(dead, prefix)

    async def scenario() -> JobEvent | None:
        sub = bus.local.subscribe("j")
        bus.publish(JobEvent("progress", "j", {"step": 1}))
        return await sub.get(2)

    try:
        assert asyncio.run(scenario()) == JobEvent("progress", "j", {"step": 1})
    finally:
        bus.close()


def test_skippable_calls_stop_asking_a_failing_redis_for_a_while(prefix: str) -> None:
    """A Redis that never answers must not cost a timeout at every step of a job."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)  # connections complete in the kernel; nothing ever answers
    try:
        client = create_redis(f"redis://127.0.0.1:{listener.getsockname()[1]}", 0.3)
        signals, cache = RedisCancelSignals(client, prefix), RedisResultCache(client, prefix, 60)
        bus = RedisJobEventBus(client, prefix)
        started = time.monotonic()
        assert signals.is_requested("j") is False  # pays the timeout once
        first = time.monotonic() - started
        assert first < 5
        started = time.monotonic()
        for _ in range(100):
            assert signals.is_requested("j") is False
            assert cache.get("k") is None
            bus.publish(JobEvent("progress", "j", {"step": 1}))
        assert time.monotonic() - started < 2 * first + 3  # one more timeout each at most, not 300
    finally:
        listener.close()
