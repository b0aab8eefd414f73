#!/usr/bin/env python
"""Platform overhead: N jobs through the HTTP API against N bare diffusers calls.

One run measures both sides with the same model (the built-in ``tiny-sd``),
the same parameters and distinct seeds (so the result cache never answers),
and interleaves them, so the baseline sees the same machine noise:

* bare: ``AutoPipelineForText2Image.from_pretrained`` loaded as the diffusers
  backend loads it, then called directly in this process, each call timed;
* API: the real server (``python -m aptmagic serve --demo``) in its own
  process, so this client does not share its GIL. A job is POST /api/v1/jobs,
  then its SSE stream /api/v1/jobs/{id}/events up to the final ``job`` event.

The jobs are split into --rounds rounds. Each round runs

* latency: pairs of one bare call and one API job, back to back, the order
  alternating from pair to pair;
* throughput: a bare loop of n calls and a burst of n API jobs (all submitted,
  then all awaited), the order of the two flipped every round.

Reported: overhead per job = API end-to-end latency minus the bare p50 (the
target's definition), the same against the bare call beside each job
(paired, the estimate least hurt by drifting load), the server's own view
from the job JSON (timings.run_ms and finished - created, each minus
timings.inference_ms), CPU time per job of both processes (Linux), and
jobs/s of the bursts against the bare loops: the target is judged on the
median of the per-round ratios (each burst against the loop beside it), and
the ratio of all rounds pooled is shown too.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/bench_jobs.py --jobs 40 --size 64 --steps 4
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
MODEL = "tiny-sd"
PROMPT = "a lighthouse at dawn, oil painting"
TERMINAL = {"succeeded", "failed", "canceled"}
TARGET_OVERHEAD_MS = 15.0
TARGET_RATIO = 0.9


# --------------------------------------------------------------------------- stats


def pct(values: list[float], q: float) -> float:
    """Percentile with linear interpolation (q in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def proc_cpu_ms(pid: int) -> float | None:
    """User + system CPU time of a process in ms (Linux /proc), else None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def chunks(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


# --------------------------------------------------------------------------- bare pipeline


class BarePipeline:
    """tiny-sd loaded with the same from_pretrained call as the diffusers backend's setup()."""

    def __init__(self, models_dir: Path) -> None:
        import diffusers
        import torch
        from diffusers import AutoPipelineForText2Image

        from aptmagic.inference.device import resolve_device, resolve_dtype
        from aptmagic.inference.registry import BUILTIN_MODELS
        from aptmagic.inference.tiny import ensure_builtin

        spec = next(s for s in BUILTIN_MODELS if s.id == MODEL)
        self.spec = spec
        diffusers.utils.logging.disable_progress_bar()
        device = resolve_device(spec.device)
        folder = ensure_builtin(spec.source.removeprefix("builtin:"), models_dir)
        pipe = AutoPipelineForText2Image.from_pretrained(
            str(folder),
            dtype=resolve_dtype(spec, device),
            use_safetensors=True,
            revision=spec.revision,
            variant=spec.variant,
        )
        pipe.set_progress_bar_config(disable=True)
        self.pipe = pipe.to(device)
        self.torch = torch

    def call(self, seed: int, size: int, steps: int, guidance: float) -> float:
        """One generation, as the backend calls it minus the step callback; ms."""
        started = time.perf_counter()
        generator = self.torch.Generator(device="cpu").manual_seed(seed)
        out = self.pipe(
            prompt=PROMPT,
            negative_prompt=None,
            width=size,
            height=size,
            num_inference_steps=steps,
            guidance_scale=guidance,
            num_images_per_prompt=1,
            generator=generator,
        )
        assert len(out.images) == 1
        return (time.perf_counter() - started) * 1000


# --------------------------------------------------------------------------- server process


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    def __init__(self, data_dir: Path, models_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir / "server.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("APTMAGIC_")}
        env.update(
            # Loopback only: the job path is measured without sign-in, plan quotas or rate limits.
            APTMAGIC_AUTH_REQUIRED="false",
            APTMAGIC_MODELS_DIR=str(models_dir),
            HF_HUB_OFFLINE="1",
            HF_HUB_DISABLE_PROGRESS_BARS="1",
            TRANSFORMERS_VERBOSITY="error",
        )
        self.command = [
            sys.executable,
            "-m",
            "aptmagic",
            "serve",
            "--demo",
            "--data-dir",
            str(data_dir / "server"),
            "--port",
            str(self.port),
        ]
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(self.command, cwd=REPO, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; see {self.log_path}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server not ready after {timeout}s; see {self.log_path}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()


# --------------------------------------------------------------------------- API client


@dataclass
class ApiJob:
    id: str
    seed: int
    submit_ms: float  # POST round trip
    e2e_ms: float  # POST start to the final `job` event
    job: dict[str, Any]
    wall_start: float = float("nan")  # time.time() at the POST start (same clock as the server's)
    wall_end: float = float("nan")  # time.time() when the final event was read

    @property
    def timings(self) -> dict[str, Any]:
        return self.job["timings"]

    @property
    def in_ms(self) -> float:
        """POST start to the job's created_at: request parsing and validation."""
        return (datetime.fromisoformat(self.timings["created_at"]).timestamp() - self.wall_start) * 1000

    @property
    def out_ms(self) -> float:
        """The job's finished_at to the final event read here: the SSE read and send."""
        return (self.wall_end - datetime.fromisoformat(self.timings["finished_at"]).timestamp()) * 1000

    @property
    def run_minus_inference_ms(self) -> float:
        return float(self.timings["run_ms"]) - float(self.timings["inference_ms"])

    @property
    def server_minus_inference_ms(self) -> float:
        t = self.timings
        return float(t["queue_wait_ms"]) + float(t["run_ms"]) - float(t["inference_ms"])


class ApiClient:
    def __init__(self, url: str, size: int, steps: int, guidance: float, max_connections: int) -> None:
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self.http = httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(600, connect=10), limits=limits)
        self.size, self.steps, self.guidance = size, steps, guidance

    async def close(self) -> None:
        await self.http.aclose()

    async def submit(self, seed: int) -> tuple[dict[str, Any], float]:
        body = {
            "task": "text-to-image",
            "model": MODEL,
            "params": {
                "prompt": PROMPT,
                "width": self.size,
                "height": self.size,
                "steps": self.steps,
                "guidance": self.guidance,
                "seed": seed,
            },
        }
        started = time.perf_counter()
        response = await self.http.post("/api/v1/jobs", json=body)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 202:
            raise RuntimeError(f"submit answered {response.status_code}: {response.text}")
        return response.json(), elapsed

    async def final(self, job_id: str) -> dict[str, Any]:
        """Follow /events until the final `job` event; return that job."""
        async with self.http.stream("GET", f"/api/v1/jobs/{job_id}/events") as response:
            response.raise_for_status()
            event, data = "message", []
            async for line in response.aiter_lines():
                if line == "":
                    if data and event == "job":
                        job = json.loads("\n".join(data))
                        if job["status"] in TERMINAL:
                            return job
                    event, data = "message", []
                elif line.startswith(":"):
                    continue
                elif line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].removeprefix(" "))
        raise RuntimeError(f"event stream of job {job_id} ended without a final job event")

    async def one(self, seed: int) -> ApiJob:
        wall_start = time.time()
        started = time.perf_counter()
        submitted, submit_ms = await self.submit(seed)
        job = await self.final(submitted["id"])
        e2e_ms = (time.perf_counter() - started) * 1000
        return ApiJob(submitted["id"], seed, submit_ms, e2e_ms, job, wall_start, time.time())

    async def burst(self, seeds: list[int]) -> tuple[list[ApiJob], float]:
        """Submit every seed at once, wait for all; (jobs, wall ms)."""
        started = time.perf_counter()
        submitted = [await self.submit(seed) for seed in seeds]
        waiters = [asyncio.create_task(self.final(job["id"])) for job, _ in submitted]
        finals = await asyncio.gather(*waiters)
        wall_ms = (time.perf_counter() - started) * 1000
        done = [
            ApiJob(job["id"], seed, submit_ms, float("nan"), final)
            for (job, submit_ms), final, seed in zip(submitted, finals, seeds, strict=True)
        ]
        return done, wall_ms


# --------------------------------------------------------------------------- the run


@dataclass
class Results:
    # latency mode: pairs of one bare call and one API job, order alternating
    pair_bare_ms: list[float] = field(default_factory=list)
    pair_jobs: list[ApiJob] = field(default_factory=list)
    latency_server_cpu_ms: float | None = 0.0
    # throughput mode: per round a bare loop block and an API burst
    loop_ms: list[float] = field(default_factory=list)
    loop_walls: list[float] = field(default_factory=list)
    loop_cpu_ms: float = 0.0
    burst_jobs: list[ApiJob] = field(default_factory=list)
    burst_walls: list[float] = field(default_factory=list)
    burst_server_cpu_ms: float | None = 0.0


def check_job(job: ApiJob, size: int, steps: int) -> None:
    j = job.job
    if j["status"] != "succeeded":
        raise RuntimeError(f"job {job.id} ended {j['status']}: {j.get('error')}")
    if j["cache_hit"]:
        raise RuntimeError(f"job {job.id} (seed {job.seed}) was answered from the result cache")
    p = j["params"]
    if (p["width"], p["height"], p["steps"], p["seed"]) != (size, size, steps, job.seed):
        raise RuntimeError(f"job {job.id} ran with other params: {p}")


def add_cpu(total: float | None, before: float | None, after: float | None) -> float | None:
    if total is None or before is None or after is None:
        return None
    return total + after - before


async def run_bench(args: argparse.Namespace, log: Callable[[str], None]) -> dict[str, Any]:
    data_dir = Path(args.data_dir) if args.data_dir else Path(tempfile.mkdtemp(prefix="aptmagic-bench-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    models_dir = data_dir / "models"
    own_tmp = args.data_dir is None

    log(f"data in {data_dir}; loading {MODEL} for the bare loop")
    bare = BarePipeline(models_dir)  # also builds the model folder the server will load
    guidance = float(bare.spec.default_params["guidance"])

    log("starting the server process")
    server = ServerProcess(data_dir, models_dir)
    client: ApiClient | None = None
    try:
        server.wait_ready()
        client = ApiClient(server.url, args.size, args.steps, guidance, max_connections=args.jobs + 8)
        rng = random.Random(args.seed)
        used: set[int] = set()

        def seed() -> int:
            while (value := rng.randrange(2**32)) in used:
                pass
            used.add(value)
            return value

        def server_cpu() -> float | None:
            return proc_cpu_ms(server.proc.pid)

        async def api_one() -> ApiJob:
            assert client is not None
            job = await client.one(seed())
            check_job(job, args.size, args.steps)
            return job

        log(f"warm-up: {args.warmup} bare calls, {args.warmup} API jobs")
        for _ in range(args.warmup):
            bare.call(seed(), args.size, args.steps, guidance)
        for _ in range(args.warmup):
            await api_one()

        res = Results()
        for rnd, n in enumerate(chunks(args.jobs, args.rounds)):
            log(f"round {rnd + 1}/{args.rounds}: {n} latency pairs, then a {n}-call bare loop and a {n}-job burst")
            # latency: bare call and API job back to back, order alternating
            for i in range(n):
                bare_first = (rnd * n + i) % 2 == 0
                if bare_first:
                    res.pair_bare_ms.append(bare.call(seed(), args.size, args.steps, guidance))
                before = server_cpu()
                res.pair_jobs.append(await api_one())
                res.latency_server_cpu_ms = add_cpu(res.latency_server_cpu_ms, before, server_cpu())
                if not bare_first:
                    res.pair_bare_ms.append(bare.call(seed(), args.size, args.steps, guidance))

            # throughput: bare loop and API burst, order flipped every round
            async def loop(n: int = n) -> None:
                cpu = time.process_time()
                started = time.perf_counter()
                res.loop_ms += [bare.call(seed(), args.size, args.steps, guidance) for _ in range(n)]
                res.loop_walls.append((time.perf_counter() - started) * 1000)
                res.loop_cpu_ms += (time.process_time() - cpu) * 1000

            async def burst(n: int = n) -> None:
                assert client is not None
                before = server_cpu()
                jobs, wall = await client.burst([seed() for _ in range(n)])
                res.burst_server_cpu_ms = add_cpu(res.burst_server_cpu_ms, before, server_cpu())
                for job in jobs:
                    check_job(job, args.size, args.steps)
                res.burst_jobs += jobs
                res.burst_walls.append(wall)

            for phase in (loop, burst) if rnd % 2 == 0 else (burst, loop):
                await phase()
    finally:
        if client is not None:
            await client.close()
        server.stop()
        if own_tmp and not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)

    return summarize(args, res, guidance, data_dir if (not own_tmp or args.keep) else None)


def dist(values: list[float]) -> dict[str, float]:
    return {"p50": pct(values, 50), "p95": pct(values, 95), "min": min(values), "n": len(values)}


def summarize(args: argparse.Namespace, res: Results, guidance: float, kept: Path | None) -> dict[str, Any]:
    import torch

    bare_all = res.pair_bare_ms + res.loop_ms
    bare_p50 = pct(bare_all, 50)
    jobs = res.pair_jobs
    e2e = [j.e2e_ms for j in jobs]
    overhead = [ms - bare_p50 for ms in e2e]
    paired = [j.e2e_ms - b for j, b in zip(jobs, res.pair_bare_ms, strict=True)]
    inference = [float(j.timings["inference_ms"]) for j in jobs]
    bare_tps = len(res.loop_ms) / (sum(res.loop_walls) / 1000)
    api_tps = len(res.burst_jobs) / (sum(res.burst_walls) / 1000)
    # Each round's burst against the bare loop beside it (same n): a burst of load
    # from elsewhere on the machine spoils one round, not the whole figure.
    round_ratios = [bare / api for bare, api in zip(res.loop_walls, res.burst_walls, strict=True)]
    ratio = pct(round_ratios, 50)
    overhead_p50 = pct(overhead, 50)
    lat_cpu, burst_cpu = res.latency_server_cpu_ms, res.burst_server_cpu_ms
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "load_avg_after": [round(x, 2) for x in os.getloadavg()],
        },
        "params": {
            "model": MODEL,
            "jobs": args.jobs,
            "size": args.size,
            "steps": args.steps,
            "guidance": guidance,
            "warmup": args.warmup,
            "rounds": args.rounds,
            "threads": args.threads,
            "design": "latency: bare call and API job in pairs, order alternating; "
            "throughput: per round a bare loop and an API burst, order flipped each round",
        },
        "bare_ms": dist(bare_all),
        "api_e2e_ms": dist(e2e),
        "overhead_ms": {"p50": overhead_p50, "p95": pct(overhead, 95)},
        "overhead_paired_ms": {"p50": pct(paired, 50), "p95": pct(paired, 95)},
        "submit_ms": {"p50": pct([j.submit_ms for j in jobs], 50)},
        "in_ms": dist([j.in_ms for j in jobs]),
        "out_ms": dist([j.out_ms for j in jobs]),
        "server": {
            "inference_ms_p50": pct(inference, 50),
            "inference_minus_bare_p50_ms": pct(inference, 50) - bare_p50,
            "run_minus_inference_ms": dist([j.run_minus_inference_ms for j in jobs]),
            "finished_minus_created_minus_inference_ms": dist([j.server_minus_inference_ms for j in jobs]),
        },
        "throughput": {
            "bare_jobs_per_s": bare_tps,
            "api_jobs_per_s": api_tps,
            "ratio": ratio,
            "ratio_all_rounds_pooled": api_tps / bare_tps,
            "round_ratios": [round(x, 3) for x in round_ratios],
            "bare_round_wall_ms": [round(x, 1) for x in res.loop_walls],
            "api_round_wall_ms": [round(x, 1) for x in res.burst_walls],
        },
        "cpu_ms_per_job": {
            "bare": res.loop_cpu_ms / len(res.loop_ms),
            "server_latency_mode": lat_cpu / len(jobs) if lat_cpu is not None else None,
            "server_burst_mode": burst_cpu / len(res.burst_jobs) if burst_cpu is not None else None,
        },
        "cache_hits": sum(1 for j in jobs + res.burst_jobs if j.job["cache_hit"]),
        "targets": {
            "overhead_p50_ms": TARGET_OVERHEAD_MS,
            "overhead_met": overhead_p50 <= TARGET_OVERHEAD_MS,
            "ratio": TARGET_RATIO,
            "ratio_met": ratio >= TARGET_RATIO,
        },
        "kept_data_dir": str(kept) if kept else None,
    }


def print_table(r: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    def ms(v: float) -> str:
        return f"{v:.1f} ms"

    def verdict(ok: bool) -> str:
        return "[green]met[/green]" if ok else "[red]missed[/red]"

    p, t = r["params"], r["targets"]
    table = Table(
        title=f"aptmagic jobs vs bare diffusers: {p['model']} {p['size']}x{p['size']}, {p['steps']} steps, "
        f"{p['jobs']} jobs per mode, {p['rounds']} interleaved rounds",
        title_justify="left",
    )
    table.add_column("measure")
    table.add_column("p50", justify="right")
    table.add_column("p95", justify="right")
    table.add_column("target")
    table.add_row("bare pipeline call", ms(r["bare_ms"]["p50"]), ms(r["bare_ms"]["p95"]), "")
    table.add_row(
        "API end to end (POST .. final SSE event)", ms(r["api_e2e_ms"]["p50"]), ms(r["api_e2e_ms"]["p95"]), ""
    )
    table.add_row(
        "overhead per job (e2e - bare p50)",
        ms(r["overhead_ms"]["p50"]),
        ms(r["overhead_ms"]["p95"]),
        f"p50 <= {t['overhead_p50_ms']:.0f} ms: {verdict(t['overhead_met'])}",
    )
    table.add_row(
        "overhead, paired (e2e - the bare call beside it)",
        ms(r["overhead_paired_ms"]["p50"]),
        ms(r["overhead_paired_ms"]["p95"]),
        "",
    )
    s = r["server"]
    table.add_row(
        "server: finished - created - inference_ms",
        ms(s["finished_minus_created_minus_inference_ms"]["p50"]),
        ms(s["finished_minus_created_minus_inference_ms"]["p95"]),
        "",
    )
    table.add_row(
        "server: run_ms - inference_ms",
        ms(s["run_minus_inference_ms"]["p50"]),
        ms(s["run_minus_inference_ms"]["p95"]),
        "",
    )
    table.add_row("server: inference_ms - bare p50", ms(s["inference_minus_bare_p50_ms"]), "", "")
    table.add_row("POST /api/v1/jobs round trip", ms(r["submit_ms"]["p50"]), "", "")
    table.add_row("client POST start -> created_at", ms(r["in_ms"]["p50"]), ms(r["in_ms"]["p95"]), "")
    table.add_row("finished_at -> final event read by client", ms(r["out_ms"]["p50"]), ms(r["out_ms"]["p95"]), "")
    tp = r["throughput"]
    table.add_row("throughput bare loop", f"{tp['bare_jobs_per_s']:.2f} jobs/s", "", "")
    table.add_row("throughput API burst", f"{tp['api_jobs_per_s']:.2f} jobs/s", "", "")
    table.add_row(
        "throughput ratio API / bare (median of rounds)",
        f"{tp['ratio']:.3f}x",
        "",
        f">= {t['ratio']}x: {verdict(t['ratio_met'])}",
    )
    table.add_row("throughput ratio, all rounds pooled", f"{tp['ratio_all_rounds_pooled']:.3f}x", "", "")
    cpu = r["cpu_ms_per_job"]
    if cpu["server_latency_mode"] is not None and cpu["server_burst_mode"] is not None:
        table.add_row(
            "CPU per job: bare / server one-at-a-time / server burst",
            f"{cpu['bare']:.0f} / {cpu['server_latency_mode']:.0f} / {cpu['server_burst_mode']:.0f} ms",
            "",
            "",
        )
    console = Console()
    if not console.is_terminal:
        console = Console(width=120)
    console.print(table)
    m = r["machine"]
    console.print(
        f"{m['cpus']} CPUs, torch threads {m['torch_threads']}, load average after the run "
        f"{', '.join(f'{x:.2f}' for x in m['load_avg_after'])}; cache hits: {r['cache_hits']}; "
        f"bare loop / API burst wall per round: {r['throughput']['bare_round_wall_ms']} / "
        f"{r['throughput']['api_round_wall_ms']} ms",
        highlight=False,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--jobs", type=int, default=40, help="jobs per mode: bare calls, API latency jobs, API burst jobs"
    )
    parser.add_argument("--size", type=int, default=64, help="width and height in pixels (multiple of 8, 64..256)")
    parser.add_argument("--steps", type=int, default=4, help="denoising steps")
    parser.add_argument("--warmup", type=int, default=3, help="untimed bare calls and API jobs first")
    parser.add_argument(
        "--rounds", type=int, default=4, help="interleaved rounds the jobs are split into (1: one block each)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads in both processes (sets OMP_NUM_THREADS; default: torch's own choice)",
    )
    parser.add_argument("--seed", type=int, default=None, help="seed of the seed sequence (default: random)")
    parser.add_argument(
        "--data-dir",
        default=None,
        help="folder for the server's database, blobs and the model (default: a temp folder)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp data folder (server.log is in it)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON only")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    if args.jobs < 1 or not 1 <= args.rounds <= args.jobs:
        parser.error("need --jobs >= 1 and 1 <= --rounds <= --jobs")

    if args.threads is not None:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)  # read by torch here and in the server process
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

    def log(message: str) -> None:
        print(f"[bench] {message}", file=sys.stderr, flush=True)

    result = asyncio.run(run_bench(args, log))
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_table(result)
    ok = result["targets"]["overhead_met"] and result["targets"]["ratio_met"]
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
