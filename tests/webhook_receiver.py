"""A real HTTP receiver of webhooks on a free loopback port, for tests.

It records every request (body, headers, the status it answered) and can misbehave: answer
an error, or stall past the sender's timeout, at random or as scripted.
"""

import random
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook


@dataclass
class Received:
    """One request as it arrived, and what the receiver answered."""

    path: str
    headers: dict[str, str]
    body: bytes
    status: int
    arrived: float = 0.0  # time.time() when it arrived

    @property
    def event_id(self) -> int:
        """The event's id, from the webhook-id header."""
        return int(self.headers["webhook-id"])


@dataclass
class Behaviour:
    """How the receiver answers: a script of statuses first, then random failures and stalls."""

    # Statuses answered first, in order (None: a stall).
    script: list[int | None] = field(default_factory=list)
    fail_rate: float = 0.0
    stall_rate: float = 0.0
    stall_seconds: float = 0.0
    status: int = 204
    extra: Callable[[BaseHTTPRequestHandler], None] | None = None
    rng: random.Random = field(default_factory=lambda: random.Random(7))


class Receiver:
    """The server, its requests, and the behaviour it follows (change it at any time)."""

    def __init__(self, behaviour: Behaviour | None = None):
        self.behaviour = behaviour or Behaviour()
        self.requests: list[Received] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                arrived = time.time()
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status = receiver._answer()
                if status is None:  # stall: answer nothing until the sender gives up
                    time.sleep(receiver.behaviour.stall_seconds)
                    status = 200
                with receiver.lock:
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    received = Received(self.path, headers, body, status, arrived)
                    receiver.requests.append(received)
                if receiver.behaviour.extra is not None:
                    receiver.behaviour.extra(self)
                    return
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def _answer(self) -> int | None:
        behaviour = self.behaviour
        with self.lock:
            if behaviour.script:
                return behaviour.script.pop(0)
            roll = behaviour.rng.random()
        if roll < behaviour.stall_rate:
            return None
        if roll < behaviour.stall_rate + behaviour.fail_rate:
            return 503
        return behaviour.status

    def accepted(self) -> list[Received]:
        """The requests it answered with a 2xx, in arrival order."""
        with self.lock:
            return [r for r in self.requests if 200 <= r.status < 300]

    def wait_for(self, predicate: Callable[["Receiver"], bool], timeout: float = 60) -> None:
        """Wait until predicate(receiver) holds, or fail with what arrived."""
        deadline = time.monotonic() + timeout
        while not predicate(self):
            if time.monotonic() > deadline:
                ids = [(r.event_id, r.status) for r in self.requests]
                raise AssertionError(f"timed out; received (id, status): {ids[-50:]}")
            time.sleep(0.05)


def verify(secret: str, request: Received) -> dict:
    """Check a request's Standard Webhooks signature as a receiver would; return the event."""
    return Webhook(secret).verify(request.body, request.headers)


@contextmanager
def receiving(behaviour: Behaviour | None = None):
    """Run a receiver in a thread for the duration of the block."""
    receiver = Receiver(behaviour)
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
        thread.join(timeout=10)
