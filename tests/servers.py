"""Helpers for tests that start real server processes on free loopback ports."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Process:
    """A child process in its own session whose standard output is collected line by line."""

    def __init__(self, args, env=None, cwd=ROOT):
        self.lines: list[str] = []
        self.popen = subprocess.Popen(
            args,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.popen.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for_line(self, prefix: str, timeout: float = 120) -> str:
        """Return the first output line starting with prefix, or fail after timeout seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines:
                if line.startswith(prefix):
                    return line
            if self.popen.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.1)
        raise AssertionError(f"no line starting with {prefix!r} in:\n" + "\n".join(self.lines))

    def stop(self):
        """Stop the process group (gunicorn and its workers) and wait for it."""
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        self._reader.join(timeout=10)
        self.popen.stdout.close()


def wait_until_serving(
    url: str, headers=None, timeout: float = 120, process: Process | None = None
) -> requests.Response:
    """Poll url until the server answers; return that answer.

    Every kind of connection failure and timeout is retried (a loaded 2-core machine can take
    long to start gunicorn); a process that exits meanwhile fails at once with its output.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            return requests.get(url, headers=headers, timeout=10)
        except requests.RequestException:
            if process is not None and process.popen.poll() is not None:
                raise AssertionError(
                    "the server exited before serving:\n" + "\n".join(process.lines)
                ) from None
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@contextmanager
def gunicorn(database_url: str, workers: int = 2, threads: int = 1, env=None):
    """Serve wsgi:app with real gunicorn on a free loopback port; yield (base URL, process)."""
    port = free_port()
    gunicorn_bin = str(Path(sys.executable).with_name("gunicorn"))
    args = [gunicorn_bin, "--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
    args += ["--threads", str(threads), "--graceful-timeout", "5", "wsgi:app"]
    server = Process(args, env={"DATABASE_URL": database_url, **(env or {})})
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_serving(f"{base}/healthz", process=server)
        yield base, server
    finally:
        server.stop()
