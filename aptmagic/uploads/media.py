"""Audio and video uploads: probed with PyAV (FFmpeg's libraries, no ffmpeg binary).

The demuxer is the one the magic bytes chose (never FFmpeg's guess, so that a
playlist or concat file can never make it open other files). The probe opens
the container from memory, needs the stream the kind requires, measures the
duration from the header and from the packets, and decodes the first packets
to catch corrupt data. Every loop checks a deadline and a packet budget."""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field

import av

from aptmagic.kit.errors import AppError
from aptmagic.uploads.errors import CorruptUpload, ImageTooLarge, MediaTooLong
from aptmagic.uploads.sniff import FileType

DECODE_PACKETS = 24
"""Packets decoded per checked stream; the rest are only demuxed (for the duration)."""
MAX_PACKETS = 2_000_000


@dataclass
class MediaInfo:
    duration: float
    has_audio: bool
    has_video: bool
    width: int | None = None
    height: int | None = None
    codecs: list[str] = field(default_factory=list)


@dataclass
class _Track:
    stream: av.stream.Stream
    packets: int = 0
    frames: int = 0
    size: tuple[int, int] | None = None


def probe_media(
    data: bytes,
    file_type: FileType,
    *,
    kinds: tuple[str, ...],
    max_seconds: float,
    max_pixels: int,
    timeout: float,
) -> MediaInfo:
    """Check that ``data`` is playable ``file_type`` media within the limits,
    with a stream of one of ``kinds`` ("audio", "video")."""
    deadline = time.monotonic() + timeout
    try:
        return _probe(data, file_type, kinds, max_seconds=max_seconds, max_pixels=max_pixels, deadline=deadline)
    except AppError:
        raise
    except MemoryError:
        raise CorruptUpload("the file needs more memory to read than is allowed") from None
    except Exception as exc:
        raise CorruptUpload(f"the {file_type.name.upper()} file is truncated or corrupt ({_reason(exc)})") from None


def _probe(
    data: bytes, file_type: FileType, kinds: tuple[str, ...], *, max_seconds: float, max_pixels: int, deadline: float
) -> MediaInfo:
    remaining = max(0.1, deadline - time.monotonic())
    with av.open(io.BytesIO(data), mode="r", format=file_type.demuxer, timeout=(remaining, remaining)) as container:
        audio = list(container.streams.audio)
        video = [s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic]
        info = MediaInfo(duration=0.0, has_audio=bool(audio), has_video=bool(video))
        info.codecs = [s.codec_context.name for s in (*audio, *video)]
        if not (info.has_audio and "audio" in kinds or info.has_video and "video" in kinds):
            raise CorruptUpload(f"the {file_type.name.upper()} file has no {' or '.join(kinds)} stream")
        tracks = {s.index: _Track(s) for s in (audio[:1] + video[:1])}
        if video:
            width, height = video[0].codec_context.width, video[0].codec_context.height
            if width and height:
                _check_frame(width, height, max_pixels)
                info.width, info.height = width, height
        header = container.duration / av.time_base if container.duration and container.duration > 0 else 0.0
        _check_duration(header, max_seconds)
        measured = _demux(container, tracks, max_seconds, max_pixels, deadline)
        for track in tracks.values():
            if track.frames == 0:
                _flush(track, max_pixels)
        decoded = {track.stream.type for track in tracks.values() if track.frames}
        if not decoded & set(kinds):
            raise CorruptUpload(f"no {' or '.join(kinds)} could be decoded from the {file_type.name.upper()} file")
        info.has_audio, info.has_video = "audio" in decoded, "video" in decoded  # a stream counts once it plays
        for track in tracks.values():
            if track.size is not None and info.width is None:
                info.width, info.height = track.size
        if max(header, measured) <= 0:
            raise CorruptUpload("the duration of the file cannot be determined")
        _check_duration(max(header, measured), max_seconds)  # a header cannot hide longer content
        info.duration = round(header or measured, 3)
        return info


def _demux(
    container: av.container.InputContainer,
    tracks: dict[int, _Track],
    max_seconds: float,
    max_pixels: int,
    deadline: float,
) -> float:
    """Read every packet (decoding the first few per track); return the media's end time."""
    start: float | None = None
    end = 0.0
    for count, packet in enumerate(container.demux()):
        if count >= MAX_PACKETS or time.monotonic() > deadline:
            raise CorruptUpload("the file could not be checked in the time allowed")
        if packet.pts is not None and packet.time_base is not None:
            at = float(packet.pts * packet.time_base)
            start = at if start is None else min(start, at)
            end = max(end, float((packet.pts + (packet.duration or 0)) * packet.time_base))
            _check_duration(end - start, max_seconds)
        track = tracks.get(packet.stream.index)
        if track is not None and track.packets < DECODE_PACKETS and packet.size:
            track.packets += 1
            for frame in packet.decode():
                _count(track, frame, max_pixels)  # type: ignore[arg-type]
    return end - start if start is not None else 0.0


def _flush(track: _Track, max_pixels: int) -> None:
    """Drain a decoder that holds frames back (B-frames, look-ahead)."""
    for frame in track.stream.codec_context.decode(None):  # type: ignore[attr-defined]
        _count(track, frame, max_pixels)


def _count(track: _Track, frame: av.frame.Frame, max_pixels: int) -> None:
    if isinstance(frame, av.VideoFrame):
        _check_frame(frame.width, frame.height, max_pixels)
        track.size = track.size or (frame.width, frame.height)
    track.frames += 1


def _check_frame(width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise ImageTooLarge(
            f"the video is {width}x{height} ({width * height:,} pixels a frame); the most allowed is {max_pixels:,}",
            details={"width": width, "height": height, "max_pixels": max_pixels},
        )


def _check_duration(seconds: float, max_seconds: float) -> None:
    if seconds > max_seconds:
        raise MediaTooLong(
            f"the file lasts {seconds:.1f} s; the most allowed is {max_seconds:g} s",
            details={"duration_seconds": round(seconds, 3), "max_seconds": max_seconds},
        )


def _reason(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text[:200]
