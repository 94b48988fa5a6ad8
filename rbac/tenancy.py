"""Organizations, directories and their bearer tokens, and the organization's API keys.

Whoever holds a directory's token acts as the IdP, which no safety rail blocks; so creating,
rotating and revoking tokens and pausing, resuming or deleting a directory need the catalog's
`manage_directories` permission (an Owner's, or the additive `directory_manager`'s), and each
is an event naming its actor. API keys need `manage_api_keys`. The operator (the command
line) is trusted; every other actor is checked by the engine (`rbac.authorization`).
"""

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.orm import Session, joinedload

from rbac import provisioning
from rbac.authorization import authorize
from rbac.catalog import Catalog
from rbac.changes import apply_changes
from rbac.context import Context
from rbac.db import utcnow
from rbac.errors import Conflict, InvalidValue, NotFound, Refused
from rbac.event_log import record_action
from rbac.models import (
    ApiKey,
    ApiKeyRole,
    Directory,
    DirectoryToken,
    Group,
    Organization,
    Provider,
    User,
)
from rbac.payloads import (
    ApiKeyAction,
    DirectoryAction,
    DirectoryDeletion,
    TokenAction,
    TokenRotation,
)
from rbac.recompute import AccessDiff
from rbac.resources import org_resource

TOKEN_PREFIX = "rcs_"
API_KEY_PREFIX = "rck_"
# last_used_at is written at most this often, so that authentication is not a write per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# A rotation's overlap: long enough for an IdP admin to paste the new token, bounded so that a
# typo cannot keep a replaced token alive for years.
MAX_ROTATION_GRACE = timedelta(days=365)


class TokenState(StrEnum):
    """Where a bearer token is in its life."""

    ACTIVE = "active"
    # Live, with an expiry set: a rotation's grace period or a token made to expire.
    EXPIRING = "expiring"
    EXPIRED = "expired"
    REVOKED = "revoked"


def expiry_in(days: int | None) -> datetime | None:
    """The moment a token or key made now expires, `days` from now; None (never) if none."""
    return utcnow() + timedelta(days=days) if days else None


def hash_token(token: str) -> str:
    """Return the stored digest of a bearer token."""
    return hashlib.sha256(token.encode()).hexdigest()


def get_organization(session: Session, slug: str) -> Organization:
    """Return the organization with this slug, or raise NotFound."""
    org = session.scalar(select(Organization).where(Organization.slug == slug))
    if org is None:
        raise NotFound(f"no organization {slug!r}")
    return org


ORG_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


def create_organization(session: Session, slug: str, name: str | None = None) -> Organization:
    """Create an organization; its slug (lowercase letters, digits, '-') must be new."""
    if not ORG_SLUG.fullmatch(slug):
        raise InvalidValue(f"{slug!r} is not an organization slug: a-z, 0-9 and '-', 64 at most")
    if session.scalar(select(Organization.id).where(Organization.slug == slug)) is not None:
        raise Conflict(f"organization {slug!r} exists")
    org = Organization(slug=slug, name=name or slug)
    session.add(org)
    session.flush()
    org_resource(session, org)
    return org


def get_directory(session: Session, org: Organization, name: str) -> Directory:
    """Return the organization's directory of this name, or raise NotFound."""
    directory = session.scalar(
        select(Directory).where(Directory.organization_id == org.id, Directory.name == name)
    )
    if directory is None:
        raise NotFound(f"no directory {name!r} in organization {org.slug!r}")
    return directory


def list_directories(session: Session, org: Organization) -> list[Directory]:
    """Return an organization's directories, by name."""
    query = select(Directory).where(Directory.organization_id == org.id)
    return list(session.scalars(query.order_by(Directory.name)))


def create_directory(ctx: Context, name: str, provider: Provider) -> Directory:
    """Create a directory (one IdP connection) in the organization."""
    _authorize_directories(ctx)
    session, org = ctx.session, ctx.org
    if not name.strip() or len(name) > 200 or "/" in name or name.strip() in (".", ".."):
        raise InvalidValue(
            f"{name[:100]!r} is not a directory name: 1 to 200 characters, no '/', not '.' or '..'"
        )
    exists = select(Directory.id).where(Directory.organization_id == org.id, Directory.name == name)
    if session.scalar(exists) is not None:
        raise Conflict(f"directory {name!r} exists in organization {org.slug!r}")
    directory = Directory(organization=org, name=name, provider=provider)
    session.add(directory)
    session.flush()
    record_action(ctx, "directory.created", DirectoryAction(_directory_named(directory)))
    return directory


def bootstrap_directory(
    session: Session, catalog: Catalog, org_slug: str, directory_name: str, provider: Provider
) -> str:
    """Create the org and its directory if missing; return a new token's plaintext (idempotent).

    The operator's: it runs at the command line only.
    """
    org = session.scalar(select(Organization).where(Organization.slug == org_slug))
    if org is None:
        org = create_organization(session, org_slug)
    ctx = Context(session, catalog, org)
    directory = session.scalar(
        select(Directory).where(
            Directory.organization_id == org.id, Directory.name == directory_name
        )
    )
    if directory is None:
        directory = create_directory(ctx, directory_name, provider)
    elif directory.provider != provider:
        raise Conflict(
            f"directory {directory_name!r} exists with provider {directory.provider.value!r}"
        )
    _, plaintext = issue_token(ctx, directory)
    return plaintext


def issue_token(
    ctx: Context, directory: Directory, expires_at: datetime | None = None
) -> tuple[DirectoryToken, str]:
    """Create a bearer token; return its row and the plaintext, which is never stored."""
    _authorize_directories(ctx, directory)
    token, plaintext = _new_token(ctx, directory, expires_at)
    record_action(ctx, "directory.token.created", _token_action(directory, token))
    return token, plaintext


def _new_token(
    ctx: Context, directory: Directory, expires_at: datetime | None
) -> tuple[DirectoryToken, str]:
    return _new_credential(ctx, DirectoryToken, directory=directory, expires_at=expires_at)


def _new_credential(ctx: Context, model, **columns):
    """Make a token or key row: a new secret, stored as its digest; return it and the secret."""
    kind_prefix = TOKEN_PREFIX if model is DirectoryToken else API_KEY_PREFIX
    plaintext, digest, prefix = _new_secret(kind_prefix)
    digest_column = "token_hash" if model is DirectoryToken else "key_hash"
    row = model(**columns, **{digest_column: digest}, prefix=prefix, created_by=ctx.actor.label)
    ctx.session.add(row)
    ctx.session.flush()
    return row, plaintext


def list_tokens(session: Session, directory: Directory) -> list[DirectoryToken]:
    """Return every token of a directory, live or not, oldest first."""
    query = select(DirectoryToken).where(DirectoryToken.directory_id == directory.id)
    return list(session.scalars(query.order_by(DirectoryToken.id)))


def token_state(token: DirectoryToken, now: datetime) -> TokenState:
    """Return whether a token is active, expiring, expired or revoked at this moment."""
    if token.revoked_at is not None:
        return TokenState.REVOKED
    if not _is_live(token.revoked_at, token.expires_at, now):
        return TokenState.EXPIRED
    return TokenState.ACTIVE if token.expires_at is None else TokenState.EXPIRING


def rotate_tokens(
    ctx: Context, directory: Directory, grace: timedelta
) -> tuple[DirectoryToken, str, list[DirectoryToken]]:
    """Issue a new token and end every other live one after grace; return new, plaintext, old."""
    _authorize_directories(ctx, directory)
    if not timedelta(0) <= grace <= MAX_ROTATION_GRACE:
        raise InvalidValue(f"a rotation's grace period is 0 to {MAX_ROTATION_GRACE.days} days")
    now = utcnow()
    deadline = now + grace
    old = [
        token
        for token in list_tokens(ctx.session, directory)
        if _is_live(token.revoked_at, token.expires_at, now)
    ]
    for token in old:
        # Rotation only shortens a token's life: an earlier expiry is kept.
        if token.expires_at is None or token.expires_at > deadline:
            token.expires_at = deadline
    new, plaintext = _new_token(ctx, directory, None)
    expiring = [_token_named(token) for token in old]
    rotation = TokenRotation(
        _directory_named(directory), _token_named(new), expiring, grace / timedelta(hours=1)
    )
    record_action(ctx, "directory.token.rotated", rotation)
    return new, plaintext, old


def revoke_token(ctx: Context, directory: Directory, token_id: int) -> DirectoryToken:
    """Revoke one token of a directory; revoking twice keeps the first revocation time."""
    _authorize_directories(ctx, directory)
    owned = DirectoryToken.directory_id == directory.id
    token, revoked = _revoke(ctx, DirectoryToken, token_id, owned, f"directory {directory.name!r}")
    if revoked:
        record_action(ctx, "directory.token.revoked", _token_action(directory, token))
    return token


def authenticate_token(session: Session, plaintext: str) -> DirectoryToken | None:
    """Return the live bearer token a plaintext is (its directory loaded with it), or None."""
    return _find_live(session, _TOKEN_BY_DIGEST, DirectoryToken.token_hash, plaintext)


def issue_api_key(
    ctx: Context, name: str, role: str = ApiKeyRole.ADMIN, expires_at: datetime | None = None
) -> tuple[ApiKey, str]:
    """Create an /api/v1 key acting with a role, expiring or not; return its row and plaintext."""
    _authorize_api_keys(ctx)
    try:
        role = ApiKeyRole(role.lower())
    except ValueError:
        choices = ", ".join(r.value for r in ApiKeyRole)
        raise InvalidValue(f"an API key's role is one of {choices}, not {role!r}") from None
    if expires_at is not None and expires_at <= utcnow():
        raise InvalidValue("an API key's expiry is in the future")
    key, plaintext = _new_credential(
        ctx, ApiKey, organization_id=ctx.org.id, name=name, role=role, expires_at=expires_at
    )
    record_action(ctx, "api_key.created", ApiKeyAction(_key_named(key)))
    return key, plaintext


def list_api_keys(session: Session, org: Organization) -> list[ApiKey]:
    """Return every API key of an organization, live or not, oldest first."""
    query = select(ApiKey).where(ApiKey.organization_id == org.id).order_by(ApiKey.id)
    return list(session.scalars(query))


def revoke_api_key(ctx: Context, key_id: int) -> ApiKey:
    """Revoke one API key of the organization; revoking twice keeps the first revocation."""
    _authorize_api_keys(ctx)
    owned = ApiKey.organization_id == ctx.org.id
    key, revoked = _revoke(ctx, ApiKey, key_id, owned, f"organization {ctx.org.slug!r}")
    if revoked:
        record_action(ctx, "api_key.revoked", ApiKeyAction(_key_named(key)))
    return key


def authenticate_api_key(session: Session, plaintext: str) -> ApiKey | None:
    """Return the live API key (its organization and role) a plaintext names, or None."""
    return _find_live(session, _KEY_BY_DIGEST, ApiKey.key_hash, plaintext)


# Built once, run with the digest bound: every authenticated request runs one of them, and
# composing a statement costs more than running it (docs/performance.md).
_TOKEN_BY_DIGEST = (
    select(DirectoryToken)
    .where(DirectoryToken.token_hash == bindparam("digest"))
    .options(joinedload(DirectoryToken.directory).joinedload(Directory.organization))
)
_KEY_BY_DIGEST = (
    select(ApiKey)
    .where(ApiKey.key_hash == bindparam("digest"))
    .options(joinedload(ApiKey.organization))
)


def _new_secret(kind_prefix: str) -> tuple[str, str, str]:
    """Return a new secret's plaintext (32 random bytes), its stored digest and shown prefix."""
    plaintext = kind_prefix + secrets.token_urlsafe(32)
    return plaintext, hash_token(plaintext), plaintext[: len(kind_prefix) + 6]


def _find_live(session: Session, by_digest, digest_column, plaintext: str):
    """Return the live token or key whose digest is the plaintext's, noting its use; or None."""
    digest = hash_token(plaintext)
    secret = session.scalar(by_digest, {"digest": digest})
    stored = getattr(secret, digest_column.key, None)
    if secret is None or not _use(secret, stored, digest, getattr(secret, "expires_at", None)):
        return None
    return secret


def _use(secret: DirectoryToken | ApiKey, stored: str, digest: str, expires_at) -> bool:
    """Whether a token or key found by its digest is live; if so, note that it was used."""
    # The lookup is by digest; the comparison is constant-time on top of it.
    if not hmac.compare_digest(stored, digest):
        return False
    now = utcnow()
    if not _is_live(secret.revoked_at, expires_at, now):
        return False
    if secret.last_used_at is None or now - secret.last_used_at >= LAST_USED_RESOLUTION:
        secret.last_used_at = now
    return True


def _is_live(revoked_at: datetime | None, expires_at: datetime | None, now: datetime) -> bool:
    """Whether a token or key is neither revoked nor expired at this moment."""
    return revoked_at is None and (expires_at is None or expires_at > now)


def _revoke(ctx: Context, model, secret_id: int, owned, where: str):
    """Revoke a token or key of its owner; return it, and False if it was revoked already."""
    secret = ctx.session.scalar(select(model).where(model.id == secret_id, owned))
    if secret is None:
        what = "token" if model is DirectoryToken else "API key"
        raise NotFound(f"no {what} {secret_id} in {where}")
    if secret.revoked_at is not None:
        return secret, False
    secret.revoked_at, secret.revoked_by = utcnow(), ctx.actor.label
    ctx.session.flush()
    return secret, True


def set_directory_enabled(ctx: Context, directory: Directory, enabled: bool) -> None:
    """Pause or resume a directory's provisioning (its tokens answer 403 while paused)."""
    _authorize_directories(ctx, directory)
    if enabled == (directory.disabled_at is None):
        return  # already so: nothing happens, no event
    if enabled:
        directory.disabled_at, directory.disabled_by = None, None
    else:
        directory.disabled_at, directory.disabled_by = utcnow(), ctx.actor.label
    ctx.session.flush()
    kind = "directory.resumed" if enabled else "directory.paused"
    record_action(ctx, kind, DirectoryAction(_directory_named(directory)))


def directory_population(session: Session, directory: Directory) -> tuple[int, int]:
    """How many users and groups a directory has provisioned."""
    return tuple(
        session.scalar(select(func.count()).where(model.directory_id == directory.id))
        for model in (User, Group)
    )


def delete_directory(
    ctx: Context, directory: Directory, *, confirmed: bool = False
) -> list[AccessDiff]:
    """Delete a directory with its users, groups, tokens and journal; return what access changed.

    Its users and groups go as if its IdP had deleted them. The change is an admin's, judged
    as any other: no one may lose a role the actor could not take, and the organization keeps
    an active Owner. An admin cannot delete the directory their own account comes from (they
    would delete themselves mid-request). Local users and groups, and direct grants to
    anyone else, stay.
    """
    _authorize_directories(ctx, directory)
    users = ctx.session.scalars(select(User).where(User.directory_id == directory.id)).all()
    if ctx.actor.user_id is not None and any(user.id == ctx.actor.user_id for user in users):
        raise Refused(f"your own account comes from directory {directory.name!r}")
    groups = ctx.session.scalars(select(Group).where(Group.directory_id == directory.id)).all()
    changes = [
        change for group in groups for change in provisioning.delete_group(ctx.session, group)
    ]
    changes += [change for user in users for change in provisioning.delete_user(ctx.session, user)]
    diffs = apply_changes(ctx, changes, confirmed=confirmed)
    deletion = DirectoryDeletion(_directory_named(directory), len(users), len(groups))
    record_action(ctx, "directory.deleted", deletion)
    # Its tokens, journal and read counts go with it, by the foreign keys' ON DELETE CASCADE.
    ctx.session.execute(delete(Directory).where(Directory.id == directory.id))
    ctx.session.expunge(directory)
    return diffs


def _authorize_directories(ctx: Context, directory: Directory | None = None) -> None:
    if directory is not None and directory.organization_id != ctx.org.id:
        raise NotFound(f"no directory {directory.name!r} in organization {ctx.org.slug!r}")
    administration = ctx.catalog.administration
    authorize(ctx, administration.manage_directories, org_resource(ctx.session, ctx.org))


def _authorize_api_keys(ctx: Context) -> None:
    authorize(ctx, ctx.catalog.administration.manage_api_keys, org_resource(ctx.session, ctx.org))


def _directory_named(directory: Directory) -> dict:
    return {"id": directory.id, "name": directory.name, "provider": directory.provider.value}


def _token_action(directory: Directory, token: DirectoryToken) -> TokenAction:
    return TokenAction(_directory_named(directory), _token_named(token))


def _token_named(token: DirectoryToken) -> dict:
    expires = token.expires_at.isoformat() if token.expires_at else None
    return {"id": token.id, "prefix": token.prefix, "expires_at": expires}


def _key_named(key: ApiKey) -> dict:
    expires = key.expires_at.isoformat() if key.expires_at else None
    named = {"id": key.id, "name": key.name, "prefix": key.prefix, "role": key.role.value}
    return named | {"expires_at": expires}
