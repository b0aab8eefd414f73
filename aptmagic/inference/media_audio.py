"""Decode uploaded audio and video in memory with PyAV (bundled FFmpeg, no ffmpeg binary).

``decode_audio`` turns WAV, MP3, M4A/AAC, OGG (Vorbis, Opus), FLAC and the audio
track of MP4, WebM, MKV and MOV into 16 kHz mono float32 samples for speech
models. ``extract_keyframe`` picks a representative frame of a video for
image models. Every failure becomes an ``InferenceError`` with a message a
person can act on; every loop is bounded by the input or by a fixed count."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from aptmagic.inference.base import InferenceError

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
DEFAULT_MAX_SECONDS = 2 * 3600
KEYFRAME_POSITION = 1 / 3
MAX_FRAMES_AFTER_SEEK = 300
"""Frames decoded forward from the keyframe before the wanted time, at most."""


def _av() -> Any:
    try:
        import av
    except ImportError as exc:  # pragma: no cover - av is a dependency
        raise InferenceError("audio and video decoding needs PyAV (pip install av)") from exc
    return av


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return text.strip().lower() or type(exc).__name__


@contextmanager
def _open(data: bytes) -> Iterator[Any]:
    """Open a container from bytes; anything FFmpeg cannot read is an InferenceError."""
    av = _av()
    if not data:
        raise InferenceError("the file is empty")
    try:
        container = av.open(io.BytesIO(data), mode="r", metadata_errors="ignore")
    except (av.error.FFmpegError, ValueError, OSError, EOFError, UnicodeDecodeError) as exc:
        raise InferenceError(f"the file is not audio or video that can be read ({_reason(exc)})") from None
    try:
        yield container
    finally:
        container.close()


def _duration_seconds(container: Any, stream: Any) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return float(container.duration) / 1_000_000  # AV_TIME_BASE
    return None


def decode_audio(data: bytes, sample_rate: int = SAMPLE_RATE, max_seconds: float = DEFAULT_MAX_SECONDS) -> np.ndarray:
    """The first audio track of ``data`` as mono float32 samples at ``sample_rate``, in [-1, 1].

    Raises InferenceError for an unreadable file, a file or video without an
    audio track, or audio longer than ``max_seconds``. As players do, damaged
    packets are skipped and a file cut short keeps the audio before the cut."""
    with _open(data) as container:
        if not container.streams.audio:
            raise InferenceError(_no_audio(container))
        samples = _Samples(_av(), sample_rate)
        problem = _decode_track(container, container.streams.audio[0], samples, max_seconds)
        samples.flush()
        if problem is not None:
            _report_damage(samples, problem)
    if samples.total == 0:
        raise InferenceError("the file holds no audio samples")
    return samples.joined()


@dataclass
class _Samples:
    """Mono float32 chunks at one rate, through a resampler that follows the stream's shape."""

    av: Any
    sample_rate: int
    chunks: list[np.ndarray] = field(default_factory=list)
    total: int = 0
    bad_packets: int = 0
    resampler: Any = None
    shape: tuple[str, str, int] | None = None

    def add(self, frame: Any) -> None:
        shape = (frame.format.name, frame.layout.name, frame.sample_rate)
        if shape != self.shape:
            # A new resampler when the stream changes rate or channels midway (joined files).
            self.flush()
            self.shape = shape
            # Keeps the channels; _append averages them (FFmpeg's downmix can push loud stereo past 1.0).
            self.resampler = self.av.AudioResampler(format="fltp", rate=self.sample_rate)
        self.total += sum(_append(self.chunks, out) for out in self.resampler.resample(frame))

    def flush(self) -> None:
        if self.resampler is not None:
            self.total += sum(_append(self.chunks, out) for out in self.resampler.resample(None))

    def joined(self) -> np.ndarray:
        samples = np.concatenate(self.chunks)
        np.clip(samples, -1.0, 1.0, out=samples)
        return samples


def _decode_track(container: Any, stream: Any, samples: _Samples, max_seconds: float) -> BaseException | None:
    """Decode ``stream`` into ``samples``; returns the last damage seen, if any.

    Header durations can be wrong (a WAV written to a pipe claims hours), so the limit
    is checked on the samples themselves, with a second of slack for codec padding."""
    av = samples.av
    limit = int((max_seconds + 1) * samples.sample_rate)
    problem: BaseException | None = None
    try:
        for packet in container.demux(stream):
            problem = _decode_packet(packet, samples) or problem
            if samples.total > limit:
                raise InferenceError(_too_long(samples.total / samples.sample_rate, max_seconds))
    except (av.error.FFmpegError, ValueError, OSError, EOFError) as exc:
        problem = exc  # the container itself is cut or broken here: keep what came before
    return problem


def _decode_packet(packet: Any, samples: _Samples) -> BaseException | None:
    """A damaged packet is skipped, as players do; the demuxer still moves forward."""
    try:
        frames = packet.decode()
    except (samples.av.error.FFmpegError, ValueError) as exc:
        samples.bad_packets += 1
        return exc
    for frame in frames:
        samples.add(frame)
    return None


def _report_damage(samples: _Samples, problem: BaseException) -> None:
    if samples.total == 0:
        raise InferenceError(f"the audio could not be decoded ({_reason(problem)})")
    seconds = samples.total / samples.sample_rate
    log.warning("audio partly damaged (%d bad packets); kept %.1f s: %s", samples.bad_packets, seconds, problem)


def _no_audio(container: Any) -> str:
    name = container.format.name or ""
    if container.streams.video and (name == "image2" or name.endswith("_pipe")):
        return "the file is an image, not audio or video"
    return "the video has no audio track" if container.streams.video else "the file has no audio track"


def _append(chunks: list[np.ndarray], frame: Any) -> int:
    planes = frame.to_ndarray()
    samples = planes.mean(axis=0) if planes.ndim == 2 and planes.shape[0] > 1 else planes.reshape(-1)
    samples = samples.astype(np.float32, copy=False)
    if samples.size:
        chunks.append(samples)
    return int(samples.size)


def _too_long(seconds: float, max_seconds: float) -> str:
    return f"the audio is {seconds / 60:.1f} minutes long; the limit is {max_seconds / 60:.0f} minutes"


def extract_keyframe(data: bytes, position: float = KEYFRAME_POSITION) -> Image.Image:
    """A representative RGB frame of a video: the frame at ``position`` (a fraction) of its duration.

    Seeks to the keyframe before that time and decodes forward to it (at most
    MAX_FRAMES_AFTER_SEEK frames); falls back to the first frame when the
    video cannot seek or has no known duration. The frame is turned upright
    when the video carries a rotation (phone videos)."""
    av = _av()
    with _open(data) as container:
        if not container.streams.video:
            raise InferenceError("the file has no video track")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        duration = _duration_seconds(container, stream)
        frame = None
        if duration and duration > 0 and stream.time_base:
            target = duration * max(0.0, min(1.0, position))
            try:
                frame = _frame_near(container, stream, target)
            except (av.error.FFmpegError, ValueError, OSError, EOFError) as exc:
                log.info("seeking in the video failed, using its first frame: %s", exc)
        if frame is None:
            try:
                container.seek(0, stream=stream)
            except (av.error.FFmpegError, ValueError, OSError, EOFError):
                pass  # already at the start when seeking never worked
            frame = _first_frame(container, stream)
        if frame is None:
            raise InferenceError("no frame of the video could be decoded")
        image: Image.Image = frame.to_image().convert("RGB")
        rotation = getattr(frame, "rotation", 0) or 0
        return image.rotate(rotation, expand=True) if rotation % 360 else image


def _frame_near(container: Any, stream: Any, target: float) -> Any:
    """The first frame at or after ``target`` seconds from the start (times are offset by the start time)."""
    start = stream.start_time or 0
    wanted = float(start * stream.time_base) + target
    container.seek(start + int(target / stream.time_base), stream=stream, backward=True, any_frame=False)
    best = None
    for count, frame in enumerate(container.decode(stream)):
        best = frame
        if frame.time is None or frame.time >= wanted or count >= MAX_FRAMES_AFTER_SEEK:
            break
    return best


def _first_frame(container: Any, stream: Any) -> Any:
    av = _av()
    try:
        for frame in container.decode(stream):
            return frame
    except (av.error.FFmpegError, ValueError, OSError, EOFError) as exc:
        raise InferenceError(f"the video could not be decoded ({_reason(exc)})") from None
    return None
