"""A real HTTPS-upload receiver on 127.0.0.1 standing in for the Home Office's: it stores each upload once per
Idempotency-Key (the same key again answers the same receipt and stores nothing), answers 503 a scripted number of
times, can stall in the middle of a body (so a test can kill the sender mid-upload), and, given a ``token``, answers
401 to a request without ``Authorization: Bearer <token>`` (storing nothing)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class UploadReceiver:
    folder: Path
    fail_first: int = 0  # answer 503 to this many requests before acting
    stall_after_bytes: int | None = None  # read this much of a body, then hang until released
    token: str | None = None  # when set, every request must carry "Authorization: Bearer <token>"
    posts: list[dict] = field(default_factory=list)  # every request seen (key, bytes read, answer)
    stored: dict[str, dict] = field(default_factory=dict)  # idempotency key -> receipt of the stored copy
    partial: threading.Event = field(default_factory=threading.Event)  # set when a stalled body is part-read
    release: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/upload"

    def files(self) -> list[Path]:
        return sorted(p for p in self.folder.iterdir() if p.is_file())

    def __enter__(self) -> UploadReceiver:
        receiver = self
        self.folder.mkdir(parents=True, exist_ok=True)

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's hook name
                length = int(self.headers["Content-Length"])
                key = self.headers.get("Idempotency-Key", "")
                if receiver.token is not None and not hmac.compare_digest(
                        self.headers.get("Authorization", ""), f"Bearer {receiver.token}"):
                    self.rfile.read(length)
                    with receiver._lock:
                        receiver.posts.append({"key": key, "read": length, "answer": 401})
                    self._answer(401, {"error": "unauthorized"})
                    return
                if receiver.stall_after_bytes is not None:
                    self.rfile.read(receiver.stall_after_bytes)
                    receiver.posts.append({"key": key, "read": receiver.stall_after_bytes, "answer": "stalled"})
                    receiver.partial.set()
                    receiver.release.wait(120)
                    return  # the sender is gone (killed) by now; drop the connection without storing anything
                body = self.rfile.read(length)
                with receiver._lock:
                    if receiver.fail_first > 0:
                        receiver.fail_first -= 1
                        receiver.posts.append({"key": key, "read": len(body), "answer": 503})
                        self._answer(503, {"error": "try again"})
                        return
                    receipt = receiver.stored.get(key)
                    if receipt is None:  # act once per key: a resend gets the first receipt, no second copy
                        digest = hashlib.sha256(body).hexdigest()
                        path = receiver.folder / f"{len(receiver.stored) + 1:03d}-{digest[:12]}.zip"
                        path.write_bytes(body)
                        receipt = {"id": f"HO-{len(receiver.stored) + 1:05d}", "sha256": digest, "bytes": len(body)}
                        receiver.stored[key] = receipt
                    receiver.posts.append({"key": key, "read": len(body), "answer": 201})
                self._answer(201, receipt)

            def _answer(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
