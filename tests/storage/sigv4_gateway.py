"""A loopback gateway in front of moto that judges presigned URLs as S3 does.

moto accepts any presigned URL, expired or tampered. This gateway checks the
query-string SigV4 signature (recomputed with botocore's signer and the known
secret) and the expiry (X-Amz-Date + X-Amz-Expires); a URL that fails either
gets 403 with S3's XML error, anything else is passed to moto unchanged."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx
from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SECRET = "testing"
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "host", "content-length"}


def judge(method: str, host: str, raw_path: str, headers: dict[str, str], now: datetime) -> str | None:
    """None if the presigned request is good, else the S3 error code."""
    parts = urlsplit(raw_path)
    params = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    try:
        given = params["X-Amz-Signature"]
        signed_at = datetime.strptime(params["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        expires = int(params["X-Amz-Expires"])
        access_key, _, region, service, _ = params["X-Amz-Credential"].split("/")
        signed_headers = params["X-Amz-SignedHeaders"].split(";")
    except (KeyError, ValueError):
        return "AuthorizationQueryParametersError"
    if now > signed_at + timedelta(seconds=expires):
        return "AccessDenied"  # S3: "Request has expired"
    query = "&".join(p for p in parts.query.split("&") if not p.startswith("X-Amz-Signature="))
    lowered = {k.lower(): v for k, v in headers.items()}
    request = AWSRequest(
        method=method,
        url=f"http://{host}{parts.path}?{query}",
        headers={name: lowered.get(name, "") for name in signed_headers},
    )
    request.context["timestamp"] = params["X-Amz-Date"]
    auth = S3SigV4QueryAuth(Credentials(access_key, SECRET), service, region, expires=expires)
    expected = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
    return None if expected == given else "SignatureDoesNotMatch"


class Gateway:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: object) -> None:
                return None

            def _handle(self) -> None:
                gateway.forward(self)

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def forward(self, handler: BaseHTTPRequestHandler) -> None:
        headers = dict(handler.headers.items())
        length = int(headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        if "X-Amz-Signature=" in handler.path:
            error = judge(handler.command, headers.get("Host", ""), handler.path, headers, datetime.now(UTC))
            if error is not None:
                self._reply(
                    handler, 403, {"Content-Type": "application/xml"}, f"<Error><Code>{error}</Code></Error>".encode()
                )
                return
        upstream = httpx.request(
            handler.command, self.upstream + handler.path,
            headers={k: v for k, v in headers.items() if k.lower() not in HOP_BY_HOP}, content=body, timeout=30,
        )  # fmt: skip
        kept = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP | {"content-encoding"}}
        if handler.command == "HEAD" and "content-length" in upstream.headers:
            kept["Content-Length"] = upstream.headers["content-length"]
        self._reply(handler, upstream.status_code, kept, upstream.content, head=handler.command == "HEAD")

    @staticmethod
    def _reply(
        handler: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes, head: bool = False
    ) -> None:
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        if not head:
            handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if not head:
            handler.wfile.write(body)
