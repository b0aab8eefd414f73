#!/usr/bin/env python
"""What sharing state costs per call: the in-process implementations against
Redis (rate-limit token bucket, result-cache lookup, cancel-signal check) and
the local blob store against S3 (put and get of one blob), each called N times
in this process, interleaved in rounds so machine noise falls on both sides.

Starts its own redis-server and moto server on loopback (the test launchers).

    .venv/bin/python bench/bench_shared_state.py --calls 2000 --blob-kib 256
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import boto3
from botocore.config import Config

from aptmagic.shared_state.cancels import MemoryCancelSignals, RedisCancelSignals
from aptmagic.shared_state.ratelimit import MemoryRateLimiter, RedisRateLimiter
from aptmagic.shared_state.redis import create_redis
from aptmagic.shared_state.results import MemoryResultCache, RedisResultCache
from aptmagic.storage.local import LocalBlobStore
from aptmagic.storage.s3 import S3BlobStore
from tests.support.services import MotoServer, RedisServer


def timed(call: Callable[[int], object], n: int) -> list[float]:
    samples = []
    for i in range(n):
        started = time.perf_counter()
        call(i)
        samples.append((time.perf_counter() - started) * 1e6)
    return samples


def row(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95)]
    return f"| {name} | {statistics.median(ordered):.1f} | {p95:.1f} | {len(ordered)} |"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--blob-calls", type=int, default=100)
    parser.add_argument("--blob-kib", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
    redis_binary = shutil.which("redis-server")
    assert redis_binary, "redis-server is not installed"
    redis_server, moto = RedisServer(redis_binary), MotoServer()
    redis_server.start()
    moto.start()
    folder = Path(tempfile.mkdtemp(prefix="bench-shared-"))
    try:
        client = create_redis(redis_server.url, 2.0)
        s3 = boto3.client("s3", endpoint_url=moto.url, region_name="us-east-1",
                          config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))  # fmt: skip
        bucket = f"bench-{uuid.uuid4().hex[:12]}"
        s3.create_bucket(Bucket=bucket)
        memory_limiter, redis_limiter = MemoryRateLimiter(), RedisRateLimiter(client, "bench:")
        memory_cache, redis_cache = MemoryResultCache(), RedisResultCache(client, "bench:", 600)
        memory_cancel, redis_cancel = MemoryCancelSignals(), RedisCancelSignals(client, "bench:")
        local, remote = LocalBlobStore(folder), S3BlobStore(s3, bucket)
        blob = os.urandom(args.blob_kib * 1024)
        for cache in (memory_cache, redis_cache):
            cache.put("owner:key", "job")
        cases: dict[str, tuple[Callable[[int], object], int]] = {
            "rate limit, memory": (lambda i: memory_limiter.acquire(f"ip:{i % 50}", 1e6, 10**6), args.calls),
            "rate limit, Redis (Lua)": (lambda i: redis_limiter.acquire(f"ip:{i % 50}", 1e6, 10**6), args.calls),
            "result cache get, memory": (lambda i: memory_cache.get("owner:key"), args.calls),
            "result cache get, Redis": (lambda i: redis_cache.get("owner:key"), args.calls),
            "cancel check, memory": (lambda i: memory_cancel.is_requested("job"), args.calls),
            "cancel check, Redis": (lambda i: redis_cancel.is_requested("job"), args.calls),
            f"put {args.blob_kib} KiB, local": (
                lambda i: local.put(f"b/{i}", blob, "application/octet-stream"),
                args.blob_calls,
            ),
            f"put {args.blob_kib} KiB, S3 (moto)": (
                lambda i: remote.put(f"b/{i}", blob, "application/octet-stream"),
                args.blob_calls,
            ),
            f"get {args.blob_kib} KiB, local": (lambda i: local.read(f"b/{i % args.blob_calls}"), args.blob_calls),
            f"get {args.blob_kib} KiB, S3 (moto)": (lambda i: remote.read(f"b/{i % args.blob_calls}"), args.blob_calls),
        }
        results: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.rounds):
            for name, (call, n) in cases.items():
                results[name] += timed(call, max(1, n // args.rounds))
        print("| call | p50 µs | p95 µs | calls |")
        print("| --- | --- | --- | --- |")
        for name, samples in results.items():
            print(row(name, samples))
    finally:
        redis_server.stop()
        moto.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
