"""Domain exceptions: one family, carrying no HTTP; each edge translates them once."""


class DomainError(Exception):
    """Base of every error a domain operation raises on bad input or a refused action."""


class NotFound(DomainError):
    """The named object does not exist (in the caller's scope)."""


class InvalidValue(DomainError):
    """A value the model cannot hold (an unknown role, a malformed address, too long)."""


class UnknownRole(InvalidValue):
    """A role name that the catalog does not define for a scope."""


class Conflict(DomainError):
    """The change would break a uniqueness rule."""


class InvalidMembers(DomainError):
    """A membership change names members that are not users of the group's directory."""

    def __init__(self, unknown_ids, reason: str = "unknown member ids"):
        self.unknown_ids = sorted(unknown_ids)
        super().__init__(f"{reason}: " + ", ".join(self.unknown_ids))


class Forbidden(DomainError):
    """The acting principal lacks the permission the operation needs (checked by the engine)."""


class Refused(DomainError):
    """A safety rail refuses an admin action (last owner, a cycle, an IdP-managed group)."""


class NeedsConfirmation(Refused):
    """An admin action that would remove the acting admin's own access needs confirming."""
