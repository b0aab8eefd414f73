"""Virus scanning with a ClamAV daemon over its INSTREAM protocol.

zINSTREAM\\0, then chunks of <4-byte big-endian length><bytes>, then a
zero length; clamd answers "stream: OK", "stream: <name> FOUND" or
"<message> ERROR", ended by a NUL byte."""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

from aptmagic.uploads.errors import Infected, ScannerUnavailable, UploadTooLarge

CHUNK_BYTES = 64 * 1024
RETRY_AFTER_SECONDS = 30
MAX_REPLY_BYTES = 4096


@dataclass(frozen=True)
class ClamdAddress:
    unix_path: str | None = None
    host: str | None = None
    port: int | None = None

    @classmethod
    def parse(cls, value: str) -> ClamdAddress:
        """``/run/clamav/clamd.ctl``, ``unix:///run/clamav/clamd.ctl``, ``host:3310`` or ``tcp://host:3310``."""
        value = value.strip()
        if value.startswith("unix://"):
            return cls(unix_path=value[len("unix://") :])
        if value.startswith("unix:"):
            return cls(unix_path=value[len("unix:") :])
        if value.startswith("/"):
            return cls(unix_path=value)
        host, sep, port = value.removeprefix("tcp://").rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ValueError(f"clamd address {value!r} is neither a unix socket path nor host:port")
        return cls(host=host.strip("[]"), port=int(port))

    def __str__(self) -> str:
        return self.unix_path if self.unix_path else f"{self.host}:{self.port}"


class ClamdScanner:
    def __init__(self, address: str, timeout: float) -> None:
        self.address = ClamdAddress.parse(address)
        self.timeout = timeout

    def _connect(self) -> socket.socket:
        if self.address.unix_path:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self.timeout)
            try:
                sock.connect(self.address.unix_path)
            except BaseException:
                sock.close()
                raise
            return sock
        return socket.create_connection((self.address.host, self.address.port), timeout=self.timeout)

    def scan(self, data: bytes) -> None:
        """Return if clean; raise Infected, UploadTooLarge (over clamd's stream limit) or ScannerUnavailable."""
        try:
            with self._connect() as sock:
                reply = self._instream(sock, data)
        except OSError as exc:
            raise self._unavailable(f"the virus scanner at {self.address} cannot be reached ({exc})") from None
        if reply.endswith(" FOUND"):
            signature = reply.removeprefix("stream:").removesuffix(" FOUND").strip()
            raise Infected(f"the file was refused by the virus scanner: {signature}", details={"signature": signature})
        if reply in ("stream: OK", "OK"):
            return
        if "size limit" in reply.lower():
            raise UploadTooLarge("the file is larger than the virus scanner accepts")
        raise self._unavailable(f"the virus scanner could not scan the file ({reply[:200] or 'no answer'})")

    @staticmethod
    def _instream(sock: socket.socket, data: bytes) -> str:
        try:
            sock.sendall(b"zINSTREAM\0")
            view = memoryview(data)
            for at in range(0, len(view), CHUNK_BYTES):
                chunk = view[at : at + CHUNK_BYTES]
                sock.sendall(struct.pack(">I", len(chunk)) + chunk)
            sock.sendall(struct.pack(">I", 0))
        except (BrokenPipeError, ConnectionResetError):
            pass  # clamd hangs up early past its size limit; its reply says why
        reply = b""
        while not reply.endswith(b"\0") and len(reply) < MAX_REPLY_BYTES:
            try:
                part = sock.recv(1024)
            except ConnectionResetError:
                break
            if not part:
                break
            reply += part
        return reply.rstrip(b"\0").decode("utf-8", "replace").strip()

    @staticmethod
    def _unavailable(message: str) -> ScannerUnavailable:
        return ScannerUnavailable(message, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
