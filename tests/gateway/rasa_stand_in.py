"""An HTTP server that answers as the Rasa server's REST channel and the action server's health
check do, for tests of the real ``RasaClient`` where no trained model runs."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@contextmanager
def rasa_stand_in(replies: list[dict] | None = None, status: int = 200) -> Iterator[str]:
    """Its base URL while it runs: ``POST /webhooks/rest/webhook`` answers ``replies`` with
    ``status``; ``GET /status`` names a model; ``GET /health`` (the action server's) answers."""
    answer = json.dumps(replies if replies is not None else [{"text": "Hej! Vad kan jag hjälpa dig med?"}]).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._reply(200, b'{"model_file": "models/test.tar.gz"}' if self.path.startswith("/status") else b"{}")

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self._reply(status, answer)

        def _reply(self, code: int, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
