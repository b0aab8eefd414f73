"""A loopback endpoint that answers like Bedrock Runtime and SageMaker Runtime, for parsing tests.

Every request must carry a SigV4 ``Authorization`` header that is well formed
and whose signature matches the one botocore computes again with the known
secret (anything else gets 403 ``InvalidSignatureException``, as AWS answers).
Tests script the answers per path with ``answer(path, handler)``; a handler
returns ``Reply`` (status, headers, body chunks, an optional pause between
chunks). Event streams are encoded here in the AWS event-stream framing
(prelude, headers, payload, CRC32s) that botocore decodes."""

from __future__ import annotations

import hmac
import json
import re
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ACCESS_KEY = "AKIDREMOTETESTKEY000"
SECRET_KEY = "remote-test-secret/0123456789abcdefABCDEF+xyz"
AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[A-Z0-9]+)/(?P<date>\d{8})/(?P<region>[a-z0-9-]+)/(?P<service>[a-z0-9-]+)/aws4_request, "
    r"SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})"
)
EVENTSTREAM = "application/vnd.amazon.eventstream"


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    service: str

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    chunks: Iterable[bytes] = field(default_factory=list)
    pause: float = 0.0


def json_reply(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, {"Content-Type": "application/json", **(headers or {})}, [json.dumps(body).encode()])


def error_reply(status: int, code: str, message: str, **extra: Any) -> Reply:
    """A rest-json error as AWS sends it: the code in x-amzn-ErrorType, the message in the body."""
    return json_reply(
        {"message": message, **extra}, status, {"x-amzn-ErrorType": f"{code}:http://internal.amazon.com/"}
    )


def event(event_type: str, payload: bytes, content_type: str = "application/json") -> bytes:
    return frame({":event-type": event_type, ":content-type": content_type, ":message-type": "event"}, payload)


def exception_event(exception_type: str, message: str) -> bytes:
    headers = {":exception-type": exception_type, ":content-type": "application/json", ":message-type": "exception"}
    return frame(headers, json.dumps({"message": message}).encode())


def frame(headers: dict[str, str], payload: bytes) -> bytes:
    """One event-stream message: string headers (type 7), payload, prelude and message CRC32."""
    encoded = b"".join(
        bytes([len(name)]) + name.encode() + b"\x07" + struct.pack(">H", len(value)) + value.encode()
        for name, value in headers.items()
    )
    prelude = struct.pack(">II", 12 + len(encoded) + len(payload) + 4, len(encoded))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + encoded + payload
    return message + struct.pack(">I", zlib.crc32(message))


def stream_reply(messages: Iterable[bytes], pause: float = 0.0) -> Reply:
    return Reply(200, {"Content-Type": EVENTSTREAM}, messages, pause)


def check_signature(method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[str | None, str]:
    """(None, service) when the SigV4 header is well formed and its signature is right, else (error, "")."""
    match = AUTHORIZATION.fullmatch(headers.get("authorization", ""))
    if match is None:
        return "IncompleteSignatureException", ""
    if match["key"] != ACCESS_KEY:
        return "UnrecognizedClientException", ""
    amz_date = headers.get("x-amz-date", "")
    if not amz_date.startswith(match["date"]):
        return "IncompleteSignatureException", ""
    signed = {name: headers.get(name, "") for name in match["signed"].split(";")}
    request = AWSRequest(method=method, url=f"http://{headers.get('host', '')}{path}", data=body, headers=signed)
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), match["service"], match["region"])
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    if not hmac.compare_digest(expected, match["signature"]):
        return "InvalidSignatureException", ""
    return None, match["service"]


Handler = Callable[[Seen], Reply]


class AWSDouble:
    def __init__(self) -> None:
        self.handlers: dict[str, Handler] = {}
        self.seen: list[Seen] = []
        self.refused: list[str] = []
        double = self

        class RequestHandler(BaseHTTPRequestHandler):
            def log_message(self, *_: object) -> None:
                return None

            def do_POST(self) -> None:
                double.handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), RequestHandler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, path: str, handler: Handler | Reply) -> None:
        """Answer POSTs to ``path`` (unquoted, e.g. /model/m:1/invoke) with ``handler``."""
        self.handlers[path] = handler if callable(handler) else (lambda _seen, reply=handler: reply)

    def reset(self) -> None:
        self.handlers.clear()
        self.seen.clear()
        self.refused.clear()

    def handle(self, http: BaseHTTPRequestHandler) -> None:
        headers = {k.lower(): v for k, v in http.headers.items()}
        body = http.rfile.read(int(headers.get("content-length") or 0))
        error, service = check_signature(http.command, http.path, headers, body)
        if error is not None:
            self.refused.append(error)
            self.send(http, error_reply(403, error, "The request signature we calculated does not match"))
            return
        seen = Seen(http.command, unquote(http.path), headers, body, service)
        self.seen.append(seen)
        handler = self.handlers.get(seen.path)
        reply = handler(seen) if handler else error_reply(404, "ResourceNotFoundException", f"no {seen.path}")
        self.send(http, reply)

    @staticmethod
    def send(http: BaseHTTPRequestHandler, reply: Reply) -> None:
        """Without Content-Length the body ends when the connection closes, so chunks can be paced."""
        http.send_response(reply.status)
        for name, value in reply.headers.items():
            http.send_header(name, value)
        http.send_header("Connection", "close")
        http.end_headers()
        try:
            for chunk in reply.chunks:
                http.wfile.write(chunk)
                http.wfile.flush()
                if reply.pause:
                    time.sleep(reply.pause)
        except (BrokenPipeError, ConnectionResetError):
            pass
        http.close_connection = True
