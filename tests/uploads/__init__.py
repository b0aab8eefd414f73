"""Upload tests. Every sample file is made here, in memory: images with
Pillow, WAV with the ``wave`` module, the other audio and video with PyAV's
encoders. Nothing is read from disk or the network."""

from __future__ import annotations

import io
import os
import socket
import struct
import threading
import wave
import zlib
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import pytest
from PIL import Image

from aptmagic.config import Settings
from tests.conftest import LiveServer, start_server

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


# servers


def settings_for(root: Path, models_dir: Path, **overrides: Any) -> Settings:
    """The same test settings as conftest's ``make_settings``, for servers shared by a module."""
    values: dict[str, Any] = {
        "environment": "test",
        "data_dir": root / "data",
        "models_dir": models_dir,
        "demo": True,
        "retry_base_seconds": 0.05,
        "retry_max_seconds": 0.2,
        "progress_write_interval": 0.0,
        "shutdown_timeout": 10.0,
        **overrides,
    }
    return Settings(**values)


def shared_server(**overrides: Any) -> Any:
    """A module-scoped fixture: one live server, with these settings, for every test of a module."""

    @pytest.fixture(scope="module")
    def server(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[LiveServer]:
        live = start_server(settings_for(tmp_path_factory.mktemp("uploads"), models_dir, **overrides))
        yield live
        live.stop()

    return server


@pytest.fixture(scope="module")
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30, headers=server.auth_headers) as client:
        yield client


# images


def image_bytes(fmt: str, size: tuple[int, int] = (40, 20), mode: str = "RGB", **save: Any) -> bytes:
    image = Image.new(mode, size, (200, 30, 30) if mode == "RGB" else None)
    if mode == "RGB":
        image.paste((10, 200, 10), (0, 0, size[0] // 2, size[1]))  # left half green: orientation is visible
    buffer = io.BytesIO()
    image.save(buffer, fmt, **save)
    return buffer.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(width: int = 50_000, height: int = 50_000) -> bytes:
    """A valid PNG header for a huge image and a small IDAT: never allocated here."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 65536, 9)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def gif_bytes() -> bytes:
    return image_bytes("GIF", mode="P")


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


# audio and video


def wav_bytes(seconds: float = 0.5, rate: int = 16000) -> bytes:
    samples = (np.sin(np.arange(int(rate * seconds)) / 8) * 12000).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return buffer.getvalue()


def encode_audio(container: str, codec: str, rate: int, seconds: float = 0.5, layout: str = "mono") -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.layout = layout
        ctx = stream.codec_context
        sample_format = ctx.codec.audio_formats[0].name
        frame_size = ctx.frame_size or 1024
        total = int(rate * seconds)
        channels = 2 if layout == "stereo" else 1
        for start in range(0, total, frame_size):
            count = min(frame_size, total - start)
            wave_ = np.sin(np.arange(start, start + count) / 8) * 0.3
            frame = av.AudioFrame(format=sample_format, layout=layout, samples=count)
            planes = frame.planes if frame.format.is_planar else frame.planes[:1]
            for plane in planes:
                values = wave_ if frame.format.is_planar else np.repeat(wave_, channels)
                plane.update(_samples(values, sample_format).tobytes())
            frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buffer.getvalue()


def _samples(values: np.ndarray, sample_format: str) -> np.ndarray:
    if sample_format.startswith("flt"):
        return values.astype(np.float32)
    if sample_format.startswith("s16"):
        return (values * 32767).astype(np.int16)
    if sample_format.startswith("s32"):
        return (values * 2**30).astype(np.int32)
    raise ValueError(sample_format)


def encode_video(
    container: str, codec: str, size: tuple[int, int] = (64, 48), frames: int = 6, rate: int = 10
) -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        for index in range(frames):
            pixels = np.full((size[1], size[0], 3), (index * 40) % 255, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buffer.getvalue()


def _mp3() -> bytes:
    return encode_audio("mp3", "libmp3lame", 22050)


def _m4a() -> bytes:
    return encode_audio("ipod", "aac", 22050)


def _ogg() -> bytes:
    return encode_audio("ogg", "libopus", 48000)


def _flac() -> bytes:
    return encode_audio("flac", "flac", 16000)


SAMPLES: dict[str, tuple[Callable[[], bytes], str, str]] = {
    # name: (builder, content type, media kind)
    "png": (lambda: image_bytes("PNG"), "image/png", "image"),
    "jpeg": (lambda: image_bytes("JPEG", quality=90), "image/jpeg", "image"),
    "webp": (lambda: image_bytes("WEBP", quality=90), "image/webp", "image"),
    "wav": (wav_bytes, "audio/wav", "audio"),
    "mp3": (_mp3, "audio/mpeg", "audio"),
    "m4a": (_m4a, "audio/mp4", "audio"),
    "ogg": (_ogg, "audio/ogg", "audio"),
    "flac": (_flac, "audio/flac", "audio"),
    "mp4": (lambda: encode_video("mp4", "libx264"), "video/mp4", "video"),
    "webm": (lambda: encode_video("webm", "libvpx"), "video/webm", "video"),
    "mov": (lambda: encode_video("mov", "mpeg4"), "video/quicktime", "video"),
}
_CACHE: dict[str, bytes] = {}


def sample(name: str) -> bytes:
    if name not in _CACHE:
        _CACHE[name] = SAMPLES[name][0]()
    return _CACHE[name]


# HTTP


def post_file(
    client: httpx.Client, data: bytes, filename: str | None = "file.bin", content_type: str | None = None
) -> httpx.Response:
    """A multipart upload; with no content_type the part says application/octet-stream."""
    part: tuple[Any, ...] = (filename, data, content_type or "application/octet-stream")
    return client.post("/api/v1/uploads", files={"file": part})


def error_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    return body["error"]


def raw_request(url: str, head: bytes, body: bytes = b"", timeout: float = 5.0) -> tuple[int, bytes]:
    """Send a request by hand (headers may promise more body than is sent); return (status, response bytes)."""
    host, port = httpx.URL(url).host, httpx.URL(url).port
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(head + body)
        received = b""
        while b"\r\n\r\n" not in received or not _complete(received):
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    status = int(received.split(b" ", 2)[1]) if received else 0
    return status, received


def _complete(received: bytes) -> bool:
    head, _, body = received.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":", 1)[1])
    return True


# a stand-in clamd


class FakeClamd:
    """Speaks clamd's INSTREAM on a unix socket: FOUND for the EICAR string, OK otherwise
    (or always ``answer`` when one is given)."""

    def __init__(self, path: Path, answer: bytes | None = None) -> None:
        self.path = str(path)
        self.answer = answer
        self.scanned: list[bytes] = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(8)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                self._answer(conn)

    def _answer(self, conn: socket.socket) -> None:
        command = _read_exact(conn, len(b"zINSTREAM\0"))
        if command != b"zINSTREAM\0":
            conn.sendall(b"UNKNOWN COMMAND\0")
            return
        data = bytearray()
        while True:
            (length,) = struct.unpack(">I", _read_exact(conn, 4))
            if length == 0:
                break
            data += _read_exact(conn, length)
        self.scanned.append(bytes(data))
        if self.answer is not None:
            conn.sendall(self.answer)
        else:
            conn.sendall(b"stream: Eicar-Test-Signature FOUND\0" if EICAR in data else b"stream: OK\0")

    def close(self) -> None:
        self.sock.close()
        if os.path.exists(self.path):
            os.unlink(self.path)


def _read_exact(conn: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = conn.recv(count - len(data))
        if not chunk:
            raise ConnectionError("client went away")
        data += chunk
    return data
