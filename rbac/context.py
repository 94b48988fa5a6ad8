"""Who acts, and on which organization: the context every RBAC operation takes."""

from dataclasses import dataclass

from sqlalchemy.orm import Session

from rbac.catalog import Catalog
from rbac.models import Organization


@dataclass(frozen=True)
class Actor:
    """The principal behind a change, and how events name it.

    Three kinds act: the operator at the `rolecall` command line (trusted, not checked by the
    engine), an IdP through SCIM (the authority on who exists and belongs: its changes are
    never refused by rails, they raise alerts), and a user of the organization acting as an
    admin (the admin views: each action checked by the engine against the user's own roles).
    """

    label: str  # "cli", "scim:<directory>/token-<id>/<request id>", "admin:<login>", "apikey:<id>"
    user_id: str | None = None  # set for an admin user, whose actions are checked
    is_idp: bool = False
    org_role: str | None = None  # set for an API key: the org role its actions are checked as


SYSTEM = Actor("cli")


def directory_actor(directory_name: str, token_id: int, correlation_id: str) -> Actor:
    """Return the actor of a SCIM request: its directory and token, and the request's id.

    The token names who acted for good (the journal, which has the request, is pruned).
    """
    return Actor(f"scim:{directory_name}/token-{token_id}/{correlation_id}", is_idp=True)


def user_actor(user_id: str) -> Actor:
    """Return the actor of an admin acting as themselves."""
    return Actor(f"user:{user_id}", user_id=user_id)


@dataclass(frozen=True)
class Context:
    """What every operation of the RBAC model needs: where, with which catalog, and who."""

    session: Session
    catalog: Catalog
    org: Organization
    actor: Actor = SYSTEM
