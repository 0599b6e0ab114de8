"""Real receivers for the notification channels: an SMTP server (aiosmtpd) and an HTTP
endpoint standing in for a group robot's webhook. Each records what arrived, in order."""

from __future__ import annotations

import json
import threading
from email import message_from_bytes
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller

from tests.support.infra import free_port


class SmtpReceiver:
    """An SMTP server on a loopback port; ``mails`` are the parsed messages received."""

    def __init__(self) -> None:
        self.port = free_port()
        self.mails: list[Any] = []
        self._lock = threading.Lock()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self.mails.append(message_from_bytes(envelope.content, policy=default))
        return "250 OK"

    def message_ids(self) -> list[str]:
        with self._lock:
            return [str(m["Message-ID"]) for m in self.mails]

    def __enter__(self) -> SmtpReceiver:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()


class WebhookReceiver:
    """An HTTP server taking JSON POSTs; ``calls`` are (headers, body) received and
    ``paths`` their request paths (query included). It answers ``fail_first`` requests with
    503 before it accepts any."""

    def __init__(self, fail_first: int = 0) -> None:
        self.calls: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.paths: list[str] = []
        self.refused = 0
        self.fail_first = fail_first
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                if receiver.refused < receiver.fail_first:
                    receiver.refused += 1
                    self.send_response(503)
                else:
                    receiver.calls.append((dict(self.headers.items()), body))
                    receiver.paths.append(self.path)
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The Apprise URL of this receiver (its generic JSON webhook)."""
        return f"json://127.0.0.1:{self.port}/robot"

    def keys(self) -> list[str]:
        return [h.get("Idempotency-Key", "") for h, _ in list(self.calls)]

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
