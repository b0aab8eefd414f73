#!/usr/bin/env python
"""Remote engines: what the ``openai`` backend adds to a call, and what ``max_in_flight`` does.

1. Overhead. The engine is a real aptmagic (``python -m aptmagic serve --demo``) in its own
   process. The same request is made through the backend (``backend.run`` with a job
   context: engine slot, watch for cancel, one ``token`` event a chunk) and directly with the
   same ``openai`` client (same base URL, same params, the stream read to its end), in
   alternating pairs, each call with its own seed so the engine's result cache never answers.
   Two paths: text (tiny-llm, streamed chat completions) and images (tiny-sd 64x64, one
   ``images.generate`` in a helper thread watched for cancel). Reported: p50 and p95 of each
   side, their ratios (backend / direct), the p50 difference in ms, and the median of the
   differences within pairs. The aptmagic engine's own time (a job per request) is hundreds
   of ms and varies with the machine's load; a third path, a minimal streaming engine in a
   process of its own that answers at once, shows the backend's own cost per call.

2. In-flight limit. N jobs at once (threads, as a worker's would be) through one backend
   whose engine allows K in flight. The engine here is a small OpenAI-compatible server in
   this script with a fixed service time, so the ideal throughput is K / service time; it
   counts the requests it holds at once. Reported per K: jobs/s, the ideal, their ratio, and
   the most requests the engine ever saw at once (must be K, never more).

    HF_HUB_OFFLINE=1 .venv/bin/python bench/bench_remote.py --pairs 40 --jobs 32 --limits 1,2,4,8
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import openai

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from aptmagic.inference.base import BackendEnv, RunContext  # noqa: E402
from aptmagic.inference.params import TextParams, TextToImageParams  # noqa: E402
from aptmagic.inference.registry import ModelRegistry  # noqa: E402
from aptmagic.inference.spec import ModelSpec  # noqa: E402

MESSAGES = [{"role": "user", "content": "Write a line about the sea."}]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def backend_for(spec: ModelSpec) -> Any:
    backend = ModelRegistry([spec], {}).create_backend(spec, BackendEnv(models_dir=Path("/nonexistent")))
    backend.setup()
    return backend


# --------------------------------------------------------------------------- 1. overhead against aptmagic


class Engine:
    """``aptmagic serve --demo`` on a free loopback port, with an account and an API key made over HTTP."""

    def __init__(self, root: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("APTMAGIC_")}
        env.update(APTMAGIC_MODELS_DIR=str(root / "models"), HF_HUB_OFFLINE="1",
                   HF_HUB_DISABLE_PROGRESS_BARS="1", TRANSFORMERS_VERBOSITY="error",
                   APTMAGIC_RATE_LIMIT_USER_PER_SECOND="0", APTMAGIC_RATE_LIMIT_IP_PER_SECOND="0",
                   APTMAGIC_DEFAULT_PLAN="unlimited")  # fmt: skip
        command = [sys.executable, "-m", "aptmagic", "serve", "--demo", "--data-dir", str(root / "engine"),
                   "--port", str(self.port)]  # fmt: skip
        self.log = (root / "engine.log").open("wb")
        self.proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self._wait_ready(root)
        self.api_key = self._make_key()
        os.environ["BENCH_ENGINE_KEY"] = self.api_key

    def _wait_ready(self, root: Path) -> None:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"the engine did not start; see {root / 'engine.log'}")
            time.sleep(0.1)

    def _make_key(self) -> str:
        with httpx.Client(base_url=self.url + "/api/v1", timeout=30) as http:
            account = {"email": "bench@example.com", "username": "bench", "password": "a long bench password 7421"}
            signed_up = http.post("/auth/signup", json=account)
            signed_up.raise_for_status()
            csrf = {"X-CSRF-Token": signed_up.json()["csrf_token"]}
            created = http.post("/auth/keys", json={"name": "bench"}, headers=csrf)
            created.raise_for_status()
            return str(created.json()["key"])

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)
        self.log.close()


def ctx(seed: int) -> RunContext:
    return RunContext(job_id="bench", seed=seed, on_event=lambda kind, data: None)


def text_sides(engine: Engine, max_tokens: int) -> tuple[Callable[[int], None], Callable[[int], None]]:
    spec = ModelSpec(id="remote-llm", task="text", backend="openai", source=engine.url + "/v1", device="cpu",
                     options={"model": "tiny-llm", "max_in_flight": 4, "api_key_env": "BENCH_ENGINE_KEY"})  # fmt: skip
    backend = backend_for(spec)
    client = openai.OpenAI(base_url=engine.url + "/v1", api_key=engine.api_key, max_retries=0, timeout=60)
    params = TextParams(messages=MESSAGES, max_tokens=max_tokens, temperature=0.0)  # greedy: every call as long

    def through_backend(seed: int) -> None:
        assert backend.run(params, ctx(seed)).text is not None

    def direct(seed: int) -> None:
        stream = client.chat.completions.create(
            model="tiny-llm", messages=MESSAGES, max_tokens=max_tokens, temperature=params.temperature,  # type: ignore[arg-type]
            top_p=params.top_p, seed=seed, stream=True, stream_options={"include_usage": True},
        )  # fmt: skip
        with stream:
            text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        assert text is not None

    return through_backend, direct


def image_sides(engine: Engine) -> tuple[Callable[[int], None], Callable[[int], None]]:
    spec = ModelSpec(id="remote-sd", task="text-to-image", backend="openai", source=engine.url + "/v1", device="cpu",
                     options={"model": "tiny-sd", "image_extras": True, "api_key_env": "BENCH_ENGINE_KEY"})  # fmt: skip
    backend = backend_for(spec)
    client = openai.OpenAI(base_url=engine.url + "/v1", api_key=engine.api_key, max_retries=0, timeout=60)
    params = TextToImageParams(prompt="a lighthouse", width=64, height=64, steps=2)

    def through_backend(seed: int) -> None:
        assert len(backend.run(params, ctx(seed)).images) == 1

    def direct(seed: int) -> None:
        answer = client.images.generate(
            model="tiny-sd", prompt="a lighthouse", n=1, size="64x64", response_format="b64_json",  # type: ignore[arg-type]
            extra_body={"seed": seed, "steps": 2},
        )  # fmt: skip
        assert answer.data and answer.data[0].b64_json

    return through_backend, direct


def timed(call: Callable[[int], None], seed: int) -> float:
    started = time.perf_counter()
    call(seed)
    return (time.perf_counter() - started) * 1000


def overhead(
    name: str, sides: tuple[Callable[[int], None], Callable[[int], None]], pairs: int, seeds: Any
) -> dict[str, Any]:
    through_backend, direct = sides
    for _ in range(3):  # warm both paths (model load, connections)
        through_backend(next(seeds))
        direct(next(seeds))
    backend_ms: list[float] = []
    direct_ms: list[float] = []
    for index in range(pairs):
        order = [(through_backend, backend_ms), (direct, direct_ms)]
        for call, into in order if index % 2 == 0 else order[::-1]:
            into.append(timed(call, next(seeds)))
    row = {"path": name, "pairs": pairs}
    for label, values in (("backend", backend_ms), ("direct", direct_ms)):
        row[f"{label}_p50_ms"] = round(pct(values, 50), 2)
        row[f"{label}_p95_ms"] = round(pct(values, 95), 2)
    row["ratio_p50"] = round(row["backend_p50_ms"] / row["direct_p50_ms"], 3)
    row["ratio_p95"] = round(row["backend_p95_ms"] / row["direct_p95_ms"], 3)
    row["added_p50_ms"] = round(row["backend_p50_ms"] - row["direct_p50_ms"], 2)
    row["paired_added_p50_ms"] = round(pct([b - d for b, d in zip(backend_ms, direct_ms, strict=True)], 50), 2)
    return row


# --------------------------------------------------------------------------- 2. in-flight limit


class TimedEngine:
    """An OpenAI-compatible chat endpoint that takes ``service_ms`` a request and counts them in flight."""

    def __init__(self, service_ms: float, tokens: int = 8) -> None:
        self.service = service_ms / 1000
        self.tokens = tokens
        self.in_flight = self.peak = self.served = 0
        self.lock = threading.Lock()
        engine = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: object) -> None:
                return None

            def do_POST(self) -> None:
                engine.handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def handle(self, http: BaseHTTPRequestHandler) -> None:
        body = json.loads(http.rfile.read(int(http.headers["Content-Length"])))
        with self.lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            http.send_response(200)
            http.send_header("Content-Type", "text/event-stream")
            http.send_header("Connection", "close")
            http.end_headers()
            for index in range(self.tokens):  # the service time spread over the tokens
                time.sleep(self.service / self.tokens)
                finish = "length" if index == self.tokens - 1 else None
                chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": body["model"],
                         "choices": [{"index": 0, "delta": {"content": f"t{index} "}, "finish_reason": finish}]}  # fmt: skip
                http.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                http.wfile.flush()
            http.wfile.write(b"data: [DONE]\n\n")
            http.wfile.flush()
        finally:
            with self.lock:
                self.in_flight -= 1
                self.served += 1

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def in_flight(limit: int, jobs: int, service_ms: float) -> dict[str, Any]:
    engine = TimedEngine(service_ms)
    try:
        spec = ModelSpec(id=f"timed-{limit}", task="text", backend="openai", source=engine.base_url, device="cpu",
                         options={"max_in_flight": limit, "queue_seconds": 600})  # fmt: skip
        backend = backend_for(spec)
        params = TextParams(messages=MESSAGES, max_tokens=8)
        errors: list[BaseException] = []

        def job(seed: int) -> None:
            try:
                backend.run(params, ctx(seed))
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=job, args=(seed,)) for seed in range(jobs)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
    finally:
        engine.stop()
    ideal = limit / (service_ms / 1000)
    return {
        "max_in_flight": limit, "jobs": jobs, "service_ms": service_ms, "wall_s": round(wall, 3),
        "jobs_per_s": round(jobs / wall, 2), "ideal_jobs_per_s": round(ideal, 2),
        "ratio_to_ideal": round(jobs / wall / ideal, 3), "engine_peak_in_flight": engine.peak,
        "served": engine.served, "errors": len(errors), "limit_kept": engine.peak <= limit,
    }  # fmt: skip


class FastEngine:
    """``TimedEngine`` with no service time, in a process of its own (this script with ``--serve``),
    so the engine's work does not share this process's GIL; it makes the backend's own cost visible."""

    def __init__(self, tokens: int) -> None:
        command = [sys.executable, __file__, "--serve", "--tokens", str(tokens)]
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.base_url = self.proc.stdout.readline().strip()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def fast_sides(engine: FastEngine, tokens: int) -> tuple[Callable[[int], None], Callable[[int], None]]:
    spec = ModelSpec(id="fast", task="text", backend="openai", source=engine.base_url, device="cpu",
                     options={"model": "fast"})  # fmt: skip
    backend = backend_for(spec)
    client = openai.OpenAI(base_url=engine.base_url, api_key="not-needed", max_retries=0, timeout=60)
    params = TextParams(messages=MESSAGES, max_tokens=tokens)

    def through_backend(seed: int) -> None:
        assert backend.run(params, ctx(seed)).text

    def direct(seed: int) -> None:
        stream = client.chat.completions.create(
            model="fast", messages=MESSAGES, max_tokens=tokens, temperature=params.temperature,  # type: ignore[arg-type]
            top_p=params.top_p, seed=seed, stream=True, stream_options={"include_usage": True},
        )  # fmt: skip
        with stream:
            assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)

    return through_backend, direct


def serve_forever(tokens: int) -> int:
    engine = TimedEngine(0.0, tokens)
    print(engine.base_url, flush=True)
    threading.Event().wait()
    return 0


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=40, help="overhead pairs per path")
    parser.add_argument("--max-tokens", type=int, default=16, help="tokens per text request")
    parser.add_argument("--jobs", type=int, default=32, help="concurrent jobs per in-flight limit")
    parser.add_argument("--limits", default="1,2,4,8", help="max_in_flight values to try")
    parser.add_argument("--service-ms", type=float, default=100.0, help="the timed engine's time per request")
    parser.add_argument("--tokens", type=int, default=32, help="tokens a fast-engine answer streams")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)  # the fast engine's process
    args = parser.parse_args(argv)
    if args.serve:
        return serve_forever(args.tokens)

    results: dict[str, Any] = {"overhead": [], "in_flight": []}
    with tempfile.TemporaryDirectory(prefix="aptmagic-bench-remote-") as tmp:
        engine = Engine(Path(tmp))
        try:
            seeds = iter(range(10_000, 10**7))
            results["overhead"].append(
                overhead("text (stream)", text_sides(engine, args.max_tokens), args.pairs, seeds)
            )
            results["overhead"].append(overhead("image (64x64, 2 steps)", image_sides(engine), args.pairs, seeds))
        finally:
            engine.stop()
    fast = FastEngine(args.tokens)
    try:
        name = f"fast engine ({args.tokens} tokens)"
        results["overhead"].append(overhead(name, fast_sides(fast, args.tokens), args.pairs, iter(range(10**6))))
    finally:
        fast.stop()
    for limit in (int(k) for k in args.limits.split(",")):
        results["in_flight"].append(in_flight(limit, args.jobs, args.service_ms))

    print("\noverhead: the openai backend against the same client called directly (same engine, same params)")
    print(f"{'path':<24}{'backend p50':>12}{'direct p50':>12}{'ratio p50':>11}{'backend p95':>13}{'direct p95':>12}"
          f"{'ratio p95':>11}{'added p50':>11}{'paired':>9}")  # fmt: skip
    for row in results["overhead"]:
        print(f"{row['path']:<24}{row['backend_p50_ms']:>10.1f}ms{row['direct_p50_ms']:>10.1f}ms{row['ratio_p50']:>11.3f}"
              f"{row['backend_p95_ms']:>11.1f}ms{row['direct_p95_ms']:>10.1f}ms{row['ratio_p95']:>11.3f}"
              f"{row['added_p50_ms']:>9.1f}ms{row['paired_added_p50_ms']:>7.1f}ms")  # fmt: skip
    print(f"\nin-flight limit: {args.jobs} jobs at once, engine service time {args.service_ms:g} ms")
    print(f"{'max_in_flight':>14}{'jobs/s':>9}{'ideal':>9}{'ratio':>8}{'engine peak':>13}{'kept':>6}{'errors':>8}")
    for row in results["in_flight"]:
        print(f"{row['max_in_flight']:>14}{row['jobs_per_s']:>9.2f}{row['ideal_jobs_per_s']:>9.2f}"
              f"{row['ratio_to_ideal']:>8.3f}{row['engine_peak_in_flight']:>13}{str(row['limit_kept']):>6}"
              f"{row['errors']:>8}")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    kept = all(row["limit_kept"] and not row["errors"] for row in results["in_flight"])
    return 0 if kept else 1


if __name__ == "__main__":
    sys.exit(main())
