"""What the remote backends (``remote_openai``, ``remote_bedrock``, ``remote_sagemaker``) share.

* Options: each backend reads its settings from ``ModelSpec.options`` through a
  pydantic model; a bad value fails the model's load with a clear message.
* Engines: every engine (a base URL, a Bedrock model, a SageMaker endpoint) has
  one in-flight limit per process, shared by all the jobs that call it. A job
  waiting for a slot still observes its cancel.
* Calls: a blocking call runs in a helper thread while the job thread watches
  for cancel, so a cancel ends the job at once; the helper keeps the engine's
  slot until the call itself ends (or times out), so the engine never sees
  more than its limit.
* Messages: error texts pass through ``Redactor``, which removes the secrets it
  was given and the query strings of URLs (signed links)."""

from __future__ import annotations

import base64
import io
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

from PIL import Image, ImageOps
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from aptmagic.inference.base import InferenceError, InputFile, ModelLoadError, RunContext, TransientInferenceError
from aptmagic.inference.spec import ModelSpec

log = logging.getLogger(__name__)
T = TypeVar("T")
OptionsT = TypeVar("OptionsT", bound="RemoteOptions")

POLL_SECONDS = 0.2
MAX_MESSAGE_CHARS = 300
VISION_MAX_SIDE = 1536
_URL_QUERY = re.compile(r"(https?://[^\s?\"'<>]+)\?[^\s\"'<>]*")


class RemoteOptions(BaseModel):
    """Options every remote backend reads from ``ModelSpec.options``."""

    model_config = ConfigDict(extra="ignore", frozen=True, protected_namespaces=())

    timeout_seconds: float = Field(
        60.0, gt=0, le=3600, description="Most seconds to wait to connect or for the engine's next bytes."
    )
    max_in_flight: int = Field(4, ge=1, le=1024, description="Requests to this engine at once, per process.")
    queue_seconds: float = Field(
        300.0, gt=0, le=86400, description="Most seconds a job waits for a free slot (holding its worker thread)."
    )


def parse_options(spec: ModelSpec, model: type[OptionsT]) -> OptionsT:
    """The spec's options as ``model``; unknown keys are logged, bad values fail the load."""
    try:
        options = model.model_validate(spec.options)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ModelLoadError(f"model {spec.id!r} has invalid {spec.backend} options: {problems}") from None
    unknown = sorted(set(spec.options) - set(model.model_fields))
    if unknown:
        log.warning("model options not read by its backend", extra={"model": spec.id, "options": unknown})
    return options


# in-flight limits


@dataclass
class Engine:
    """One remote engine's in-flight limit, shared by every job of the process."""

    key: str
    limit: int
    in_flight: int = 0
    peak: int = 0
    _slots: threading.BoundedSemaphore = field(init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self._slots = threading.BoundedSemaphore(self.limit)

    def acquire(self, watch: Watch, wait_seconds: float) -> None:
        """Wait for a free slot, observing cancel; a transient error after ``wait_seconds``."""
        deadline = time.monotonic() + wait_seconds
        while not self._slots.acquire(timeout=POLL_SECONDS):
            watch.poll()
            if time.monotonic() > deadline:
                raise TransientInferenceError(
                    f"engine {self.key} is busy: {self.limit} requests in flight for {wait_seconds:g} s"
                )
        with self._lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)

    def release(self) -> None:
        with self._lock:
            self.in_flight -= 1
        self._slots.release()

    @contextmanager
    def slot(self, watch: Watch, wait_seconds: float) -> Iterator[None]:
        self.acquire(watch, wait_seconds)
        try:
            yield
        finally:
            self.release()


_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def engine_for(key: str, limit: int) -> Engine:
    """The process-wide limit of the engine ``key``; the first model to name it sets the limit."""
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _engines[key] = Engine(key, limit)
        elif engine.limit != limit:
            log.warning(
                "models share an engine with different max_in_flight; the first one's limit holds",
                extra={"engine": key, "limit": engine.limit, "asked": limit},
            )
        return engine


def engine_load(key: str) -> tuple[int, int] | None:
    """(in flight now, most at once so far) of an engine, or None if no model used it yet."""
    with _engines_lock:
        engine = _engines.get(key)
    return None if engine is None else (engine.in_flight, engine.peak)


# cancel and progress


class Watch:
    """A job's progress as a remote call sees it: ``poll`` repeats the last step, so a
    cancel (``JobCanceled`` from ``RunContext.step``) is seen while waiting."""

    def __init__(self, ctx: RunContext, total: int) -> None:
        self.ctx = ctx
        self.total = max(1, total)
        self.done = 0

    def step(self, done: int) -> None:
        self.done = min(done, self.total)
        self.ctx.step(self.done, self.total)

    def poll(self) -> None:
        self.ctx.step(self.done, self.total)

    def finish(self) -> None:
        self.step(self.total)


def call_watched(engine: Engine, watch: Watch, wait_seconds: float, call: Callable[[], T]) -> T:
    """Run a blocking ``call`` in a helper thread holding one of the engine's slots.

    The job thread polls for cancel meanwhile and, on cancel, leaves at once; the
    helper thread drops the answer and frees the slot when the call returns."""
    engine.acquire(watch, wait_seconds)
    future: Future[T] = Future()

    def target() -> None:
        try:
            future.set_result(call())
        except BaseException as exc:
            future.set_exception(exc)
        finally:
            engine.release()

    threading.Thread(target=target, name=f"remote-{engine.key[:40]}", daemon=True).start()
    while not wait([future], timeout=POLL_SECONDS).done:
        watch.poll()
    return future.result()


# secrets


class Redactor:
    """Removes known secret values and URL query strings (signatures, tokens) from text."""

    def __init__(self, secrets: list[str] | None = None) -> None:
        self.secrets = [s for s in (secrets or []) if len(s) >= 4]

    def __call__(self, text: object) -> str:
        clean = _URL_QUERY.sub(r"\1?…", str(text))
        for secret in self.secrets:
            clean = clean.replace(secret, "[redacted]")
        clean = " ".join(clean.split())
        return clean if len(clean) <= MAX_MESSAGE_CHARS else clean[:MAX_MESSAGE_CHARS] + "…"


class SecretLogFilter(logging.Filter):
    """Redacts credentials from the HTTP libraries' debug logs (botocore logs each request's
    headers, the session token included); installed on their loggers by ``redact_library_logs``."""

    PATTERNS = (
        re.compile(r"(x-amz-security-token:)[^\s|]+", re.IGNORECASE),
        re.compile(r"('X-Amz-Security-Token':\s*b?')[^']*", re.IGNORECASE),
        re.compile(r"('Authorization':\s*b?')[^']*", re.IGNORECASE),
        re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+"),
    )

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = message
        for pattern in self.PATTERNS:
            clean = pattern.sub(r"\1[redacted]", clean)
        clean = _URL_QUERY.sub(r"\1?…", clean)  # signed URLs
        for secret in self.secrets:
            clean = clean.replace(secret, "[redacted]")
        if clean != message:
            record.msg, record.args = clean, None
        return True


LIBRARY_LOGGERS = (
    "botocore.auth", "botocore.endpoint", "botocore.httpsession", "botocore.parsers", "botocore.hooks",
    "urllib3.connectionpool", "openai._base_client", "httpx", "httpx2", "httpcore",
)  # fmt: skip
_log_filter = SecretLogFilter()


def redact_library_logs(*secrets: str) -> None:
    """Keep credentials out of the libraries' logs, whatever level they log at; idempotent."""
    _log_filter.secrets.update(s for s in secrets if len(s) >= 8)
    for name in LIBRARY_LOGGERS:
        library = logging.getLogger(name)
        if _log_filter not in library.filters:
            library.addFilter(_log_filter)


# images


def decode_image(data: bytes, what: str) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise InferenceError(f"{what} is not an image that could be decoded: {exc}") from None
    return image.convert("RGB")


def decode_b64_image(text: object, what: str) -> Image.Image:
    if not isinstance(text, str) or not text:
        raise InferenceError(f"{what} has no base64 image")
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        raise InferenceError(f"{what} is not valid base64") from None
    return decode_image(raw, what)


def source_image(source: InputFile) -> Image.Image:
    """An uploaded image as RGB, or a video's keyframe."""
    if source.media_kind == "video":
        from aptmagic.inference.media_audio import extract_keyframe

        try:
            return extract_keyframe(source.data).convert("RGB")
        except InferenceError:
            raise
        except (OSError, ValueError, RuntimeError, IndexError, StopIteration) as exc:
            raise InferenceError(f"no frame could be read from the source video: {exc}") from None
    if source.media_kind != "image":
        raise InferenceError(f"expected an image, got a {source.media_kind or 'unknown'} asset")
    image = decode_image(source.data, "the source image")
    try:
        return ImageOps.exif_transpose(image)
    except (OSError, ValueError):
        return image


def encode_image(image: Image.Image, fmt: str = "PNG", max_side: int | None = None) -> bytes:
    """PNG (or JPEG) bytes, scaled down to ``max_side`` when larger."""
    if max_side is not None and max(image.size) > max_side:
        image = image.copy()
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    if fmt == "JPEG":
        image.convert("RGB").save(buffer, format="JPEG", quality=90)
    else:
        image.save(buffer, format=fmt)
    return buffer.getvalue()


def vision_image(source: InputFile) -> bytes:
    """The picture a vision model is shown: JPEG, at most ``VISION_MAX_SIDE`` pixels a side."""
    return encode_image(source_image(source), "JPEG", VISION_MAX_SIDE)


def unsupported(spec: ModelSpec, params: BaseModel) -> InferenceError:
    return InferenceError(f"model {spec.id!r} ({spec.backend}) cannot run {type(params).__name__}")


def check_tasks(spec: ModelSpec, supported: set[str]) -> None:
    """Fail the load when the spec names a task this backend cannot run."""
    tasks = {spec.task, *spec.also_serves}
    missing = sorted(tasks - supported)
    if missing:
        raise ModelLoadError(
            f"model {spec.id!r}: the {spec.backend} backend runs {', '.join(sorted(supported))}, not {', '.join(missing)}"
        )


def stability_seed(seed: int) -> int:
    """Stability and JumpStart take seeds up to 4294967294."""
    return seed % 4294967295


# prompts shared by the chat-style engines


def caption_instruction(tone: str, length: str | int, video: bool) -> str:
    """The system prompt of a vision chat model asked for a caption in aptmagic's tone and length."""
    from aptmagic.inference.transformers_caption import TONE_GUIDES, length_rule

    picture = "a keyframe of a video" if video else "an image"
    return (
        f"You write captions for social media posts. You are shown {picture}. "
        "Write one caption for it in the tone and length below. Describe only what is visible: "
        "do not invent people, names, places, brands or events. "
        "Reply with the caption only: no preface, no quotes, no hashtags, no notes.\n"
        f"Tone: {TONE_GUIDES[tone]}\n"
        f"Length: {length_rule(length)}"
    )


CAPTION_ASK = "Write the caption for this picture."


def caption_settings(tone: str, length: str | int) -> tuple[int, float, float]:
    """(max new tokens, temperature, top_p) of a caption, as the local captioner's rewriter uses them."""
    from aptmagic.inference.transformers_caption import TONE_TEMPERATURES, TOP_P, token_budget

    return token_budget(length), TONE_TEMPERATURES[tone], TOP_P


def finish_caption(text: str, cut_short: bool, length: str | int) -> str:
    """The model's answer as a caption: no preface or quotes, within the word limit."""
    from aptmagic.inference.transformers_caption import clean_rewrite, end_at_sentence, trim_words, word_limit

    caption = clean_rewrite(text)
    if caption and cut_short:
        caption = end_at_sentence(caption)
    if not caption:
        raise InferenceError("the engine wrote no caption")
    return trim_words(caption, word_limit(length))
