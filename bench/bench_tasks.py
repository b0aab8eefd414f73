#!/usr/bin/env python
"""Per-task platform overhead: N jobs of each task through the HTTP API against
N calls of the same backend's run() in this process, in one run.

The API side is the real server (``python -m aptmagic serve --demo``) in its
own process; a job is POST /api/v1/jobs, then its SSE stream up to the final
``job`` event. The bare side builds the same tiny model through the
same registry, model cache and from_pretrained path, and calls ``run()``
directly with the same params and seeds (distinct per call, so the result
cache never answers). Both sides alternate call by call to share the noise.

    HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 .venv/bin/python bench/bench_tasks.py --jobs 20
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import socket
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def sample_png() -> bytes:
    from PIL import Image

    image = Image.new("RGB", (64, 64))
    image.putdata([((x * 4) % 256, (y * 4) % 256, 128) for y in range(64) for x in range(64)])
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def sample_wav(seconds: float = 3.0, rate: int = 16000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        frames = bytearray()
        for i in range(int(seconds * rate)):
            value = int(8000 * math.sin(2 * math.pi * 440 * i / rate))
            frames += value.to_bytes(2, "little", signed=True)
        out.writeframes(bytes(frames))
    return buffer.getvalue()


def task_cases(sources: dict[str, str]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        ("text-to-image", "tiny-sd", {"prompt": "a lighthouse", "width": 64, "height": 64, "steps": 4}),
        (
            "image-to-image",
            "tiny-sd",
            {"source": sources["png"], "prompt": "as ink", "strength": 0.5, "steps": 4, "num_variations": 1},
        ),
        ("caption", "tiny-caption", {"source": sources["png"], "tone": "playful", "length": "short"}),
        (
            "text",
            "tiny-llm",
            {"messages": [{"role": "user", "content": "Write a haiku about rain."}], "max_tokens": 32},
        ),
        (
            "summarize",
            "tiny-llm",
            {"text": "Rain fell on the town all night. " * 20, "length": "short", "max_tokens": 32},
        ),
        ("transcribe", "tiny-whisper", {"source": sources["wav"]}),
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(data_dir: Path, models_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    # Loopback only: the job path is measured without sign-in, plan quotas or rate limits.
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "APTMAGIC_MODELS_DIR": str(models_dir),
        "APTMAGIC_ENVIRONMENT": "test",
        "APTMAGIC_AUTH_REQUIRED": "false",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "aptmagic", "serve", "--demo", "--data-dir", str(data_dir), "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(data_dir / "server.log", "wb"),  # noqa: SIM115  (the server process keeps it)
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start; see server.log")


def api_job(client: httpx.Client, task: str, model: str, params: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    """Submit, then follow the job's SSE stream to its final ``job`` event."""
    started = time.perf_counter()
    job = client.post("/api/v1/jobs", json={"task": task, "model": model, "params": params}).raise_for_status().json()
    event = None
    with client.stream("GET", f"/api/v1/jobs/{job['id']}/events") as stream:
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event == "job":
                job = json.loads(line[5:])
                if job["status"] in ("succeeded", "failed", "canceled"):
                    break
    elapsed = (time.perf_counter() - started) * 1000
    if job["status"] != "succeeded" or job["cache_hit"]:
        raise RuntimeError(f"{task}: job ended {job['status']} (cache_hit={job['cache_hit']}): {job.get('error')}")
    return elapsed, job


class Bare:
    """The same backends as the server's, built through the same registry and cache."""

    def __init__(self, models_dir: Path, inputs: dict[str, tuple[bytes, str, str]]) -> None:
        from aptmagic.inference.base import BackendEnv, InputFile
        from aptmagic.inference.cache import ModelCache
        from aptmagic.inference.registry import build_registry

        self.registry = build_registry([], {}, demo=True)
        self.models = ModelCache(8 * 1024**3, lambda spec: self.registry.create_backend(spec, env))
        env = BackendEnv(models_dir=models_dir, use_model=lambda model_id: self.models.use(self.registry.get(model_id)))
        self.inputs = {key: InputFile(key, data, ctype, kind) for key, (data, ctype, kind) in inputs.items()}

    def run(self, task: str, model: str, params: dict[str, Any], seed: int) -> float:
        from aptmagic.inference.base import RunContext
        from aptmagic.inference.params import params_model

        spec = self.registry.get(model)
        resolved = params_model(task).model_validate({**params, "seed": seed}).resolve(spec)
        ctx = RunContext(job_id="bench", seed=seed, load_input=lambda asset_id: self.inputs[asset_id])
        started = time.perf_counter()
        with self.models.use(spec) as backend:
            backend.run(resolved, ctx)
        return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=20, help="jobs per task on each side")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="aptmagic-bench-tasks-"))
    models_dir = work / "models"
    (work / "server").mkdir()
    proc, url = start_server(work / "server", models_dir)
    rows = []
    try:
        with httpx.Client(base_url=url, timeout=120) as client:
            png, wav = sample_png(), sample_wav()
            sources = {
                "png": client.post("/api/v1/uploads", files={"file": ("a.png", png, "image/png")})
                .raise_for_status()
                .json()["id"],
                "wav": client.post("/api/v1/uploads", files={"file": ("a.wav", wav, "audio/wav")})
                .raise_for_status()
                .json()["id"],
            }
            bare = Bare(
                models_dir, {sources["png"]: (png, "image/png", "image"), sources["wav"]: (wav, "audio/wav", "audio")}
            )
            seed = 1000
            for task, model, params in task_cases(sources):
                for _warm in range(2):  # load both sides' models, first calls
                    api_job(client, task, model, {**params, "seed": seed})
                    bare.run(task, model, params, seed)
                    seed += 1
                api_ms, bare_ms, server_ms = [], [], []
                for i in range(args.jobs):
                    seed += 1
                    if i % 2:
                        bare_ms.append(bare.run(task, model, params, seed))
                        elapsed, job = api_job(client, task, model, {**params, "seed": seed})
                    else:
                        elapsed, job = api_job(client, task, model, {**params, "seed": seed})
                        bare_ms.append(bare.run(task, model, params, seed))
                    api_ms.append(elapsed)
                    timings = job["timings"]
                    server_ms.append(timings["run_ms"] + timings["queue_wait_ms"] - timings["inference_ms"])
                rows.append(
                    {
                        "task": task,
                        "model": model,
                        "jobs": args.jobs,
                        "bare_p50_ms": round(pct(bare_ms, 50), 1),
                        "api_p50_ms": round(pct(api_ms, 50), 1),
                        "overhead_p50_ms": round(pct(api_ms, 50) - pct(bare_ms, 50), 1),
                        "server_overhead_p50_ms": round(pct(server_ms, 50), 1),
                        "ratio": round(pct(bare_ms, 50) / pct(api_ms, 50), 3),
                    }
                )
    finally:
        proc.terminate()
        proc.wait(30)
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{'task':<15}{'model':<14}{'bare p50':>10}{'API p50':>10}{'overhead':>10}{'server':>9}{'bare/API':>10}")
    for r in rows:
        print(
            f"{r['task']:<15}{r['model']:<14}{r['bare_p50_ms']:>10}{r['api_p50_ms']:>10}"
            f"{r['overhead_p50_ms']:>10}{r['server_overhead_p50_ms']:>9}{r['ratio']:>10}"
        )
    print(
        "ms; overhead = API p50 - bare p50 (client's view); server = queue wait + run - model time (from the job JSON)"
    )


if __name__ == "__main__":
    main()
