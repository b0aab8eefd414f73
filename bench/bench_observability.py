#!/usr/bin/env python
"""Cost of the observability middleware per HTTP request (request id, route-template
metrics, the API request count), against the same bare ASGI app, interleaved so
that both sides see the same machine noise. Prints microseconds per request.

    PYTHONPATH=. python bench/bench_observability.py [--requests 20000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from types import SimpleNamespace
from typing import Any

from aptmagic.observability.http import ObservabilityMiddleware
from aptmagic.observability.metrics import Metrics


class _NoFlush:
    def add(self, count: int) -> bool:
        return False  # counted in memory, as with the default flush interval


async def _app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b""}


async def _send(message: Any) -> None:
    pass


async def _per_request_us(target: Any, app: Any, n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        scope = {"type": "http", "method": "GET", "path": "/api/v1/models", "app": app,
                 "headers": [(b"x-request-id", b"bench-1")]}  # fmt: skip
        await target(scope, _receive, _send)
    return (time.perf_counter() - started) / n * 1e6


async def main(requests: int, rounds: int) -> None:
    services = SimpleNamespace(observability=SimpleNamespace(requests=_NoFlush()))
    app = SimpleNamespace(state=SimpleNamespace(metrics=Metrics(), services=services))
    wrapped = ObservabilityMiddleware(_app)
    bare, full = [], []
    for _ in range(rounds):
        bare.append(await _per_request_us(_app, app, requests))
        full.append(await _per_request_us(wrapped, app, requests))
    b, f = statistics.median(bare), statistics.median(full)
    print(
        f"bare {b:.1f} us/request, with the middleware {f:.1f} us/request, overhead {f - b:.1f} us (median of {rounds})"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.rounds))
