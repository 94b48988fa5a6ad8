"""Domain exceptions: they carry no HTTP, each edge translates them once."""


class DomainError(Exception):
    """Base of every error a domain operation raises on bad input."""


class NotFound(DomainError):
    """The named object does not exist (in the caller's scope)."""


class InvalidValue(DomainError):
    """A value the model cannot hold (say, longer than its column)."""


class Conflict(DomainError):
    """The change would break a uniqueness rule."""


class InvalidMembers(DomainError):
    """A membership change names members that are not users of the group's directory."""

    def __init__(self, unknown_ids, reason: str = "unknown member ids"):
        self.unknown_ids = sorted(unknown_ids)
        super().__init__(f"{reason}: " + ", ".join(self.unknown_ids))


class Refused(DomainError):
    """A safety rail refuses an admin action (last owner, owner to a group, a cycle)."""


class NeedsConfirmation(Refused):
    """An admin action that would remove the acting admin's own access needs confirming."""
