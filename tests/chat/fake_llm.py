"""A real OpenAI-compatible HTTP server on loopback that plays scripted answers (the fake sits at the HTTP
boundary: the client, its timeouts and its parsing are the real ones). Counts requests; can answer late."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeLLM:
    """``answer(body) -> str`` makes each reply; ``delay_s`` holds each answer back; ``status`` != 200 fails."""

    def __init__(
        self, answer: Callable[[dict[str, Any]], str] | str = "That sounds hard. What would help most today?"
    ) -> None:
        self.answer = answer if callable(answer) else (lambda _body, a=answer: a)
        self.delay_s = 0.0
        self.status = 200
        self.bodies: list[dict[str, Any]] = []
        self._release = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                return

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                fake.bodies.append(body)
                if fake.delay_s:
                    fake._release.wait(fake.delay_s)
                if fake.status != 200:
                    self.send_response(fake.status)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(b'{"error": "unavailable"}')
                    return
                data = {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion",
                    "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": fake.answer(body)},
                         "finish_reason": "stop"}
                    ],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
                }  # fmt: skip
                raw = json.dumps(data).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(raw)))
                    self.end_headers()
                    self.wfile.write(raw)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    @property
    def calls(self) -> int:
        return len(self.bodies)

    def __enter__(self) -> FakeLLM:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()
