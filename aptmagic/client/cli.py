"""Client commands of the aptmagic CLI: generate, vary, caption, chat, transcribe.

They talk to a server over HTTP (``--server``, default APTMAGIC_SERVER or the
local one) with an API key (``--api-key``, default APTMAGIC_API_KEY). Progress
goes to stderr, results to stdout or files. Every failure is one line on
stderr and a non-zero exit: 1 for a refusal or a failed job, 2 for a local
problem (a file that cannot be read or written)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from aptmagic.client import (
    APIConnectionError,
    APIError,
    AptmagicError,
    AuthenticationError,
    Client,
    Job,
    JobFailedError,
    PermissionDeniedError,
)
from aptmagic.client import Progress as JobProgress
from aptmagic.client._core import DEFAULT_SERVER

err = Console(stderr=True, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)

Server = Annotated[str, typer.Option("--server", envvar="APTMAGIC_SERVER", help="aptmagic server URL.")]
ApiKey = Annotated[
    str | None, typer.Option("--api-key", envvar="APTMAGIC_API_KEY", help="API key (amk_...).", show_default=False)
]
ModelOpt = Annotated[str | None, typer.Option("--model", help="Registry model id; the task's default when omitted.")]
Seed = Annotated[
    int | None, typer.Option("--seed", min=0, max=2**32 - 1, help="Random seed, for reproducible results.")
]
Steps = Annotated[int | None, typer.Option("--steps", min=1, max=150, help="Denoising steps.")]
ExistingFile = Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="The file to send.")]


class LocalError(Exception):
    """A problem on this side: a bad option value or an unwritable output."""


@contextmanager
def _errors(server: str) -> Iterator[None]:
    """Turn every client failure into one line on stderr and an exit code."""
    try:
        yield
    except AuthenticationError as exc:
        _fail(f"the server refused the API key ({exc.message}); pass --api-key or set APTMAGIC_API_KEY")
    except PermissionDeniedError as exc:
        _fail(f"not allowed: {exc.message}")
    except APIConnectionError:
        _fail(f"cannot reach the server at {server}; is it running? (--server or APTMAGIC_SERVER)")
    except APIError as exc:
        _fail(f"{exc.message} ({exc.status_code})")
    except JobFailedError as exc:
        _fail(str(exc))
    except (LocalError, AptmagicError) as exc:
        _fail(str(exc), code=2)


def _fail(message: str, code: int = 1) -> None:
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False)
    raise typer.Exit(code)


@contextmanager
def _progress(label: str) -> Iterator[Callable[[JobProgress], None]]:
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task(label, total=None)

        def update(progress: JobProgress) -> None:
            bar.update(task, completed=progress.step, total=progress.total or None)

        yield update


def _size(size: str | None) -> dict[str, int]:
    if size is None:
        return {}
    width, sep, height = size.lower().partition("x")
    if not sep or not width.isdigit() or not height.isdigit():
        raise LocalError(f"--size must look like 512x512, not {size!r}")
    return {"width": int(width), "height": int(height)}


def _save_images(client: Client, job: Job, output: Path) -> list[Path]:
    paths = (
        [output]
        if len(job.outputs) == 1
        else [output.with_name(f"{output.stem}-{i}{output.suffix}") for i in range(1, len(job.outputs) + 1)]
    )
    for asset, path in zip(job.outputs, paths, strict=True):
        data = client.download(asset)
        try:
            path.write_bytes(data)
        except OSError as exc:
            raise LocalError(f"cannot write {path}: {exc.strerror or exc}") from None
    return paths


def _client(server: str, api_key: str | None) -> Client:
    return Client(server, api_key or "", timeout=60)


def generate(
    prompt: Annotated[str, typer.Argument(help="What to draw.")],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="PNG file; with -n > 1, name-1.png, name-2.png...")
    ] = Path("out.png"),
    model: ModelOpt = None,
    size: Annotated[str | None, typer.Option("--size", help="WIDTHxHEIGHT, e.g. 512x512.")] = None,
    steps: Steps = None,
    seed: Seed = None,
    n: Annotated[int, typer.Option("-n", "--num-images", min=1, max=8, help="Images to make.")] = 1,
    negative_prompt: Annotated[str | None, typer.Option("--negative-prompt", help="What to avoid.")] = None,
    server: Server = DEFAULT_SERVER,
    api_key: ApiKey = None,
) -> None:
    """Make images from a prompt."""
    with _errors(server), _client(server, api_key) as client:
        params = {**_size(size), "steps": steps, "seed": seed, "num_images": n, "negative_prompt": negative_prompt}
        with _progress("generating") as on_progress:
            job = client.generate(prompt, model=model, on_progress=on_progress, **params)
        for path in _save_images(client, job, output):
            out.print(f"{path}  (seed {job.seed}, job {job.id})")


def vary(
    image: ExistingFile,
    output: Annotated[Path, typer.Option("-o", "--output", help="PNG file; with -n > 1, name-1.png...")] = Path(
        "variation.png"
    ),
    prompt: Annotated[str | None, typer.Option("--prompt", help="Optional direction.")] = None,
    strength: Annotated[
        float | None, typer.Option("--strength", min=0.01, max=1.0, help="How far from the source.")
    ] = None,
    n: Annotated[int, typer.Option("-n", "--num-variations", min=1, max=8, help="Variations to make.")] = 1,
    model: ModelOpt = None,
    steps: Steps = None,
    seed: Seed = None,
    server: Server = DEFAULT_SERVER,
    api_key: ApiKey = None,
) -> None:
    """Make variations of an image."""
    with _errors(server), _client(server, api_key) as client:
        params: dict[str, Any] = {
            "prompt": prompt,
            "strength": strength,
            "num_variations": n,
            "steps": steps,
            "seed": seed,
        }
        with _progress("varying") as on_progress:
            job = client.vary(image, model=model, on_progress=on_progress, **params)
        for path in _save_images(client, job, output):
            out.print(f"{path}  (seed {job.seed}, job {job.id})")


def caption(
    file: ExistingFile,
    tone: Annotated[str, typer.Option("--tone", help="neutral, playful, formal, poetic or marketing.")] = "neutral",
    length: Annotated[
        str, typer.Option("--length", help="short, medium, long, or a maximum number of words.")
    ] = "short",
    model: ModelOpt = None,
    server: Server = DEFAULT_SERVER,
    api_key: ApiKey = None,
) -> None:
    """Caption an image or a video."""
    with _errors(server), _client(server, api_key) as client:
        with _progress("captioning"):
            job = client.caption(file, model=model, tone=tone, length=int(length) if length.isdigit() else length)
        out.print(job.text or "")


def chat(
    message: Annotated[
        str | None, typer.Argument(help="One message; without it, a conversation on standard input.")
    ] = None,
    system: Annotated[str | None, typer.Option("--system", help="A system prompt.")] = None,
    model: ModelOpt = None,
    max_tokens: Annotated[int | None, typer.Option("--max-tokens", min=1, max=8192)] = None,
    temperature: Annotated[float | None, typer.Option("--temperature", min=0.0, max=2.0)] = None,
    seed: Seed = None,
    server: Server = DEFAULT_SERVER,
    api_key: ApiKey = None,
) -> None:
    """Chat with a language model; the answer streams as it is written."""
    history: list[dict[str, str]] = [{"role": "system", "content": system}] if system else []
    params = {"max_tokens": max_tokens, "temperature": temperature, "seed": seed}
    with _errors(server), _client(server, api_key) as client:
        for line in [message] if message is not None else _stdin_lines():
            history.append({"role": "user", "content": line})
            answer = ""
            for piece in client.chat(history, model=model, **params):
                answer += piece
                out.print(piece, end="", markup=False)
            out.print()
            history.append({"role": "assistant", "content": answer})


def _stdin_lines() -> Iterator[str]:
    interactive = sys.stdin.isatty()
    while True:
        if interactive:
            err.print("[bold]>[/bold] ", end="")
        line = sys.stdin.readline()
        if not line:
            return
        if line.strip():
            yield line.rstrip("\n")


def transcribe(
    file: ExistingFile,
    format: Annotated[str, typer.Option("--format", "-f", help="txt, srt, vtt or json.")] = "txt",
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write here instead of standard output.")
    ] = None,
    language: Annotated[str | None, typer.Option("--language", help="ISO 639 code; detected when omitted.")] = None,
    model: ModelOpt = None,
    server: Server = DEFAULT_SERVER,
    api_key: ApiKey = None,
) -> None:
    """Transcribe audio or the audio track of a video."""
    if format not in ("txt", "srt", "vtt", "json"):
        _fail(f"--format must be txt, srt, vtt or json, not {format!r}", code=2)
    with _errors(server), _client(server, api_key) as client:
        with _progress("transcribing") as on_progress:
            job = client.transcribe(file, model=model, on_progress=on_progress, language=language, timestamps=True)
        text = client.result(job.id, format)
        if output is None:
            out.print(text, markup=False)
            return
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise LocalError(f"cannot write {output}: {exc.strerror or exc}") from None
        out.print(f"{output}  (job {job.id})")


def register(app: typer.Typer) -> None:
    for command in (generate, vary, caption, chat, transcribe):
        app.command()(command)
