"""A bound on the password hashes computed at once on one host, across its worker processes.

A password hash (scrypt) takes 50 to 100 ms of a core on purpose. A flood of sign-in attempts
from ever new addresses and emails, which no rate limit stops, would otherwise keep every
worker hashing and starve SCIM, pushing an IdP towards quarantine. A slot is an advisory lock
(`fcntl.flock`) on one of N files in a folder that every worker of the host shares; an
attempt that finds no slot free is refused at once (`Busy`) rather than waiting, since a
waiting worker serves nothing else either.
"""

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from rbac.errors import DomainError


class Busy(DomainError):
    """Every slot is taken: too many sign-ins at once on this host; retry in a moment."""


class HashSlots:
    """N slots in a folder: `take()` holds one for the length of a `with`, or raises Busy."""

    def __init__(self, folder: str | os.PathLike, slots: int):
        self.paths = [Path(folder) / f"slot-{n}" for n in range(slots)]
        Path(folder).mkdir(parents=True, exist_ok=True)

    @contextlib.contextmanager
    def take(self) -> Iterator[None]:
        """Hold a free slot, or raise Busy if there is none."""
        for path in self.paths:
            handle = open(path, "a")  # noqa: SIM115 (held open for the length of the with)
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            try:
                yield
                return
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
                handle.close()
        raise Busy("too many sign-ins at once: retry in a moment")


# No bound: one process, or the command line (whose operator hashes a password at a time).
UNBOUNDED = contextlib.nullcontext
