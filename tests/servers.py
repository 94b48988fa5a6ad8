"""Helpers for tests that start real server processes on free loopback ports."""

import os
import signal
import socket
import subprocess
import threading
import time
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


def wait_until_serving(url: str, headers=None, timeout: float = 60) -> requests.Response:
    """Poll url until the server answers; return that answer."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return requests.get(url, headers=headers, timeout=5)
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
