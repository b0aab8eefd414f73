"""A loopback endpoint that answers ``POST /v1/chat/completions`` like an OpenAI-compatible
server (a vision model, say), for what a demo-mode aptmagic engine cannot show: captions
from an image part, and how many requests reach the engine at once."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class OpenAIDouble:
    def __init__(self, answer: str = "A red square on a plain background.", delay: float = 0.0) -> None:
        self.answer = answer
        self.delay = delay
        self.finish_reason = "stop"
        self.fail: tuple[int, str] | None = None  # (status, message); {authorization} is the header received
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.in_flight = 0
        self.peak = 0
        self._lock = threading.Lock()
        double = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: object) -> None:
                return None

            def do_POST(self) -> None:
                double.handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def handle(self, http: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            body = json.loads(http.rfile.read(int(http.headers.get("Content-Length") or 0)))
            self.requests.append(body)
            self.headers.append({k.lower(): v for k, v in http.headers.items()})
            time.sleep(self.delay)
            self.reply(http, body)
        finally:
            with self._lock:
                self.in_flight -= 1

    def reply(self, http: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        if self.fail is not None:
            status, message = self.fail
            text = message.format(authorization=http.headers.get("Authorization", ""))
            self.send_json(http, status, {"error": {"message": text, "type": "invalid_request_error", "code": None}})
            return
        if body.get("stream"):
            self.stream(http, body)
            return
        message = {"role": "assistant", "content": self.answer}
        answer = {
            "id": "chatcmpl-double", "object": "chat.completion", "created": int(time.time()), "model": body["model"],
            "choices": [{"index": 0, "message": message, "finish_reason": self.finish_reason}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 8, "total_tokens": 18},
        }  # fmt: skip
        self.send_json(http, 200, answer)

    @staticmethod
    def send_json(http: BaseHTTPRequestHandler, status: int, answer: dict[str, Any]) -> None:
        data = json.dumps(answer).encode()
        http.send_response(status)
        http.send_header("Content-Type", "application/json")
        http.send_header("Content-Length", str(len(data)))
        http.end_headers()
        http.wfile.write(data)

    def stream(self, http: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        """Server-sent ``chat.completion.chunk`` events, one a word, then ``[DONE]``."""
        http.send_response(200)
        http.send_header("Content-Type", "text/event-stream")
        http.send_header("Connection", "close")
        http.end_headers()
        words = self.answer.split(" ")
        pieces = [word if i == 0 else " " + word for i, word in enumerate(words)]
        for index, piece in enumerate(pieces):
            finish = self.finish_reason if index == len(pieces) - 1 else None
            chunk = {"id": "chatcmpl-double", "object": "chat.completion.chunk", "created": 0, "model": body["model"],
                     "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": finish}]}  # fmt: skip
            http.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            http.wfile.flush()
        http.wfile.write(b"data: [DONE]\n\n")
        http.wfile.flush()
        http.close_connection = True
