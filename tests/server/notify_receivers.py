"""Real local receivers for notification tests: an SMTP server (aiosmtpd) and an HTTP webhook endpoint,
both on loopback, recording what they were sent and answering with scripted status codes."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Hook:
    """Requests received (headers lower-cased, raw body); `script` holds the next status codes to answer."""

    url: str
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    script: list[int] = field(default_factory=list)
    default: int = 200

    def bodies(self) -> list[dict]:
        return [json.loads(b) for _, b in self.requests]


@contextmanager
def webhook_receiver() -> Iterator[Hook]:
    hook = Hook(url="")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server API
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with lock:
                hook.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = hook.script.pop(0) if hook.script else hook.default
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Mailbox:
    """Mail received: (recipients, parsed message). `refuse` answers the next N messages with 451."""

    port: int
    mails: list[tuple[list[str], Message]] = field(default_factory=list)
    refuse: int = 0

    def to(self, address: str) -> list[Message]:
        return [m for rcpt, m in self.mails if address in rcpt]


@contextmanager
def smtp_server() -> Iterator[Mailbox]:
    from aiosmtpd.controller import Controller

    box = Mailbox(port=free_port())

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802, ANN001, ANN201 - aiosmtpd API
            if box.refuse > 0:
                box.refuse -= 1
                return "451 4.3.0 try again later"
            box.mails.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=policy.default)))
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
