"""Who acts, and on which organization: the context every RBAC operation takes."""

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.orm import Session

from rbac.catalog import Catalog
from rbac.models import Organization


class ActorKind(StrEnum):
    """The kinds of principal that change the RBAC model."""

    # The operator at the `rolecall` command line: trusted, not checked by the engine.
    SYSTEM = "system"
    # An IdP through SCIM: the authority on who exists and belongs; never refused by rails.
    DIRECTORY = "directory"
    # A user of the organization acting as an admin (the admin views): checked by the engine.
    USER = "user"


@dataclass(frozen=True)
class Actor:
    """The principal behind a change, and how events name it."""

    kind: ActorKind
    label: str  # "cli", "scim:<correlation id>", "user:<id>"
    user_id: str | None = None

    @property
    def is_idp(self) -> bool:
        """Whether the change comes from an IdP (applied whatever it does, alerts instead)."""
        return self.kind == ActorKind.DIRECTORY


SYSTEM = Actor(ActorKind.SYSTEM, "cli")


def directory_actor(correlation_id: str) -> Actor:
    """Return the actor of a SCIM request, named by its correlation id."""
    return Actor(ActorKind.DIRECTORY, f"scim:{correlation_id}")


def user_actor(user_id: str) -> Actor:
    """Return the actor of an admin acting as themselves."""
    return Actor(ActorKind.USER, f"user:{user_id}", user_id)


@dataclass(frozen=True)
class Context:
    """What every operation of the RBAC model needs: where, with which catalog, and who."""

    session: Session
    catalog: Catalog
    org: Organization
    actor: Actor = SYSTEM
