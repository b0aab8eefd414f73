#!/usr/bin/env python
"""Queue benchmarks: Celery dispatch overhead against the in-process queue, and no-op job
throughput through the whole path (HTTP submit -> queue -> worker -> done).

1. Dispatch: the same N job ids through ``InProcessQueue`` and through ``CeleryQueue``
   on a redis-server this script starts on loopback, each consumed by a no-op handler
   in this process (a Celery worker thread pool for Celery). Measured per id: enqueue
   to handler start (p50, p95) and ids/s for the whole batch; reported as ratios,
   both sides measured in the same run, alternating rounds.
2. Whole path: an ``aptmagic api`` process and --workers ``aptmagic worker`` processes on
   PostgreSQL (initdb'd here) and Redis; --jobs no-op jobs submitted over HTTP by
   --clients concurrent clients, timed until every row is succeeded. For comparison
   the same jobs through ``aptmagic serve`` (in-process queue) on the same database.

The no-op model is a test-only backend that this script registers in the processes it
starts (``--as-cli``); nothing of it is in the product.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/bench_queue.py --ids 2000 --jobs 1500
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
TARGET_JOBS_PER_SECOND = 150.0
NOOP_MODEL = {
    "id": "noop",
    "task": "text-to-image",
    "backend": "bench-noop",
    "source": "bench:noop",
    "device": "cpu",
    "default_params": {"width": 64, "height": 64, "steps": 1, "guidance": 0.0},
}


# -- the no-op backend, registered in the processes this script starts -----------------


def register_noop_backend() -> None:
    from aptmagic.inference.base import InferenceResult
    from aptmagic.inference.registry import register_backend

    class NoopBackend:
        def __init__(self, spec: Any, env: Any) -> None:
            self.spec = spec

        def setup(self) -> None:
            pass

        def run(self, params: Any, ctx: Any) -> Any:
            return InferenceResult(text="ok")

        def unload(self) -> None:
            pass

        def memory_bytes(self) -> int:
            return 1

    register_backend("bench-noop")(NoopBackend)


# The HTTP processes `aptmagic api --workers N` spawns import this file again as their main module.
if __name__ == "__mp_main__" and os.environ.get("APTMAGIC_BENCH_NOOP") == "1":
    register_noop_backend()


def run_cli(args: list[str]) -> None:
    register_noop_backend()
    from aptmagic.cli import main

    sys.argv = ["aptmagic", *args]
    main()


# -- 1. dispatch overhead ----------------------------------------------------------------


class Recorder:
    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.started: dict[str, float] = {}
        self.done = threading.Event()
        self.lock = threading.Lock()

    def __call__(self, job_id: str) -> None:
        now = time.perf_counter()
        with self.lock:
            self.started.setdefault(job_id, now)
            if len(self.started) >= self.expected:
                self.done.set()


def dispatch_round(queue: Any, recorder: Recorder, count: int) -> dict[str, float]:
    sent: dict[str, float] = {}
    began = time.perf_counter()
    for _ in range(count):
        job_id = uuid.uuid4().hex
        sent[job_id] = time.perf_counter()
        queue.enqueue(job_id, "cpu")
    if not recorder.done.wait(120):
        raise RuntimeError(f"only {len(recorder.started)} of {count} ids arrived")
    wall = max(recorder.started.values()) - began
    latencies = sorted((recorder.started[i] - sent[i]) * 1000 for i in sent)
    return {
        "ids_per_second": count / wall,
        "enqueue_us": (max(sent.values()) - began) / count * 1e6,
        "p50_ms": statistics.median(latencies),
        "p95_ms": latencies[int(len(latencies) * 0.95) - 1],
    }


def bench_dispatch(ids: int, rounds: int, redis_url: str) -> dict[str, Any]:
    from celery.contrib.testing.worker import start_worker

    from aptmagic.config import Settings
    from aptmagic.queue.celery import CeleryQueue
    from aptmagic.queue.inprocess import InProcessQueue

    per_round = ids // rounds
    results: dict[str, list[dict[str, float]]] = {"inprocess": [], "celery": []}
    settings = Settings(queue_backend="celery", broker_url=redis_url, queue_name_prefix="bench-")
    celery_queue = CeleryQueue(settings)
    for index in range(rounds):
        order = ["inprocess", "celery"] if index % 2 == 0 else ["celery", "inprocess"]
        for side in order:
            recorder = Recorder(per_round)
            if side == "inprocess":
                queue = InProcessQueue(concurrency=4)
                queue.start(recorder)
                results[side].append(dispatch_round(queue, recorder, per_round))
                queue.stop(5)
            else:
                celery_queue.start(recorder)
                with start_worker(celery_queue.app, pool="threads", concurrency=4, perform_ping_check=False,
                                  queues=[celery_queue.broker_queue("cpu")], shutdown_timeout=10):  # fmt: skip
                    results[side].append(dispatch_round(celery_queue, recorder, per_round))
    summary: dict[str, Any] = {}
    for side, rows in results.items():
        summary[side] = {key: statistics.median(row[key] for row in rows) for key in rows[0]}
    summary["ratio_throughput_inprocess_over_celery"] = (
        summary["inprocess"]["ids_per_second"] / summary["celery"]["ids_per_second"]
    )
    summary["ratio_p50_latency_celery_over_inprocess"] = summary["celery"]["p50_ms"] / summary["inprocess"]["p50_ms"]
    summary["ids_per_round"] = per_round
    summary["rounds"] = rounds
    return summary


# -- 2. whole path -------------------------------------------------------------------------


def cluster_env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("APTMAGIC_")}
    env.update(
        PYTHONPATH=str(REPO),
        OMP_NUM_THREADS="1",
        APTMAGIC_DATABASE_URL=database_url,
        APTMAGIC_DATA_DIR=str(data_dir),
        APTMAGIC_MODELS=json.dumps([NOOP_MODEL]),
        APTMAGIC_AUTH_REQUIRED="false",
        APTMAGIC_RATE_LIMIT_USER_PER_SECOND="0",
        APTMAGIC_RATE_LIMIT_IP_PER_SECOND="0",
        APTMAGIC_DEFAULT_PLAN="unlimited",
        APTMAGIC_LOG_LEVEL="WARNING",
        APTMAGIC_PROGRESS_WRITE_INTERVAL="1",
        APTMAGIC_DB_POOL_SIZE="20",
        APTMAGIC_BENCH_NOOP="1",
        **extra,
    )
    return env


def spawn(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[bytes]:
    handle = log.open("ab")
    try:
        return subprocess.Popen([sys.executable, __file__, "--as-cli", *args], cwd=REPO, env=env, stdout=handle,
                                stderr=subprocess.STDOUT)  # fmt: skip
    finally:
        handle.close()


def wait_http(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 90) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("server exited: " + log.read_text()[-2000:])
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("server did not start: " + log.read_text()[-2000:])


def wait_text(log: Path, text: str, process: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while text not in (log.read_text(errors="replace") if log.exists() else ""):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("worker did not start: " + log.read_text()[-2000:])
        time.sleep(0.1)


async def submit_all(url: str, jobs: int, clients: int, seed0: int) -> float:
    import httpx

    seeds = iter(range(seed0, seed0 + jobs))
    lock = asyncio.Lock()
    errors: list[str] = []

    async def client_loop(http: httpx.AsyncClient) -> None:
        while True:
            async with lock:
                seed = next(seeds, None)
            if seed is None:
                return
            body = {"task": "text-to-image", "model": "noop", "params": {"prompt": "x", "seed": seed}}
            response = await http.post("/api/v1/jobs", json=body)
            if response.status_code != 202:
                errors.append(response.text[:200])

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
        began = time.perf_counter()
        await asyncio.gather(*(client_loop(http) for _ in range(clients)))
        submitted = time.perf_counter() - began
    if errors:
        raise RuntimeError(f"{len(errors)} submits refused, e.g. {errors[0]}")
    return submitted


def wait_done(database_url: str, expected: int, timeout: float = 600) -> float:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                done = conn.execute(text("SELECT count(*) FROM jobs WHERE status = 'succeeded'")).scalar() or 0
                failed = conn.execute(text("SELECT count(*) FROM jobs WHERE status = 'failed'")).scalar() or 0
            if failed:
                raise RuntimeError(f"{failed} jobs failed")
            if done >= expected:
                return time.perf_counter()
            time.sleep(0.02)
    finally:
        engine.dispose()
    raise RuntimeError("jobs did not finish in time")


def whole_path(kind: str, pg: Any, redis_url: str, root: Path, jobs: int, clients: int, workers: int,
               concurrency: int, warmup: int, api_workers: int = 1) -> dict[str, Any]:  # fmt: skip
    from tests.support.services import free_port

    database_url = pg.create_database()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = root / f"{kind}.log"
    processes: list[subprocess.Popen[bytes]] = []
    if kind == "celery":
        env = cluster_env(database_url, root / kind, APTMAGIC_QUEUE_BACKEND="celery", APTMAGIC_BROKER_URL=redis_url,
                          APTMAGIC_QUEUE_NAME_PREFIX=f"b{uuid.uuid4().hex[:6]}-")  # fmt: skip
        processes.append(spawn(env, log, "api", "--port", str(port), "--workers", str(api_workers)))
        wait_http(url, processes[0], log)
        for index in range(workers):
            worker_log = root / f"worker-{index}.log"
            processes.append(spawn(env, worker_log, "worker", "--queues", "cpu", "--concurrency", str(concurrency)))
            wait_text(worker_log, "aptmagic worker ready", processes[-1])
    else:
        env = cluster_env(database_url, root / kind, APTMAGIC_WORKER_CONCURRENCY=str(workers * concurrency))
        processes.append(spawn(env, log, "serve", "--port", str(port)))
        wait_http(url, processes[0], log)
    try:
        asyncio.run(submit_all(url, warmup, clients, 10_000_000))
        wait_done(database_url, warmup)
        began = time.perf_counter()
        submit_seconds = asyncio.run(submit_all(url, jobs, clients, 0))
        ended = wait_done(database_url, warmup + jobs)
        wall = ended - began
        return {
            "jobs": jobs,
            "wall_s": wall,
            "jobs_per_second": jobs / wall,
            "submits_per_second": jobs / submit_seconds,
        }
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--as-cli":
        run_cli(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ids", type=int, default=2000, help="ids per side for the dispatch benchmark")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--jobs", type=int, default=1500, help="no-op jobs through the whole path")
    parser.add_argument("--clients", type=int, default=32, help="concurrent HTTP clients")
    parser.add_argument("--workers", type=int, default=2, help="aptmagic worker processes")
    parser.add_argument("--concurrency", type=int, default=4, help="threads per worker")
    parser.add_argument("--api-workers", type=int, default=1, help="HTTP processes of `aptmagic api`")
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--skip-inprocess-path", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    from tests.support.services import PostgresServer, RedisServer

    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is not installed (scripts/setup.sh installs it)")
    redis = RedisServer(binary)
    redis.start()
    pg = PostgresServer(Path("/tmp") / f"aptmagic-bench-pg-{uuid.uuid4().hex[:8]}")
    pg.init()
    pg.start()
    results: dict[str, Any] = {"machine": f"{platform.node()} {os.cpu_count()} cpus", "load_before": os.getloadavg()}
    try:
        with tempfile.TemporaryDirectory(prefix="aptmagic-bench-queue-") as tmp:
            root = Path(tmp)
            results["dispatch"] = bench_dispatch(args.ids, args.rounds, redis.url)
            print(json.dumps({"dispatch": results["dispatch"]}, indent=2), flush=True)
            kinds = ["celery"] if args.skip_inprocess_path else ["celery", "inprocess"]
            for kind in kinds:
                results[f"path_{kind}"] = whole_path(kind, pg, redis.url, root, args.jobs, args.clients, args.workers,
                                                     args.concurrency, args.warmup, args.api_workers)  # fmt: skip
                print(json.dumps({f"path_{kind}": results[f"path_{kind}"]}, indent=2), flush=True)
    finally:
        pg.stop()
        shutil.rmtree(pg.root, ignore_errors=True)
        redis.stop()
    results["load_after"] = os.getloadavg()
    path = results["path_celery"]["jobs_per_second"]
    verdict = "meets" if path >= TARGET_JOBS_PER_SECOND else "misses"
    print(f"\nwhole path (celery): {path:.1f} jobs/s, {verdict} the {TARGET_JOBS_PER_SECOND:.0f} jobs/s target")
    print(
        f"dispatch: in-process/celery throughput ratio {results['dispatch']['ratio_throughput_inprocess_over_celery']:.1f}, "
        f"celery/in-process p50 latency ratio {results['dispatch']['ratio_p50_latency_celery_over_inprocess']:.1f}"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
