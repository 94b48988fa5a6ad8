"""Tables of tenants, IdP directories and the users and groups they provision."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    Enum,
    FetchedValue,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rbac.db import Base, JSONDocument, UTCDateTime, enum_values, utcnow


def new_id() -> str:
    """Return a fresh, unguessable resource id."""
    return str(uuid.uuid4())


class Provider(StrEnum):
    """The identity provider behind a directory; it selects the tolerance profile."""

    ENTRA = "entra"
    OKTA = "okta"
    JUMPCLOUD = "jumpcloud"
    ONELOGIN = "onelogin"
    GENERIC = "generic"


class Organization(Base):
    """A tenant: it owns directories, users, groups and everything granted on them."""

    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The org role every active user holds (seed 002: new members are viewers); None for none.
    default_role: Mapped[str | None] = mapped_column(
        String(32), default="viewer", server_default="viewer"
    )
    # When off, group-derived roles are kept but ignored (Glean's feature flag, seed 003).
    group_roles_enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    directories: Mapped[list["Directory"]] = relationship(back_populates="organization")


class Directory(Base):
    """One IdP connection of an organization."""

    __tablename__ = "directories"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    provider: Mapped[Provider] = mapped_column(
        Enum(Provider, native_enum=False, length=20, values_callable=enum_values)
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A disabled directory keeps its tokens, but SCIM answers 403: provisioning is paused.
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_by: Mapped[str | None] = mapped_column(String(300))  # the pausing actor's label

    organization: Mapped[Organization] = relationship(back_populates="directories")
    tokens: Mapped[list["DirectoryToken"]] = relationship(back_populates="directory")


class DirectoryToken(Base):
    """A bearer token of a directory, stored only as its SHA-256 digest."""

    __tablename__ = "directory_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    directory_id: Mapped[int] = mapped_column(
        ForeignKey("directories.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the token, so that an operator can tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Who made and who revoked it (an actor's label), as events name them.
    created_by: Mapped[str | None] = mapped_column(String(300))
    revoked_by: Mapped[str | None] = mapped_column(String(300))

    directory: Mapped[Directory] = relationship(back_populates="tokens")


class ApiKeyRole(StrEnum):
    """What an /api/v1 key may do: check and explain (checker), also read (viewer), write."""

    ADMIN = "admin"
    VIEWER = "viewer"
    CHECKER = "checker"


class ApiKey(Base):
    """An organization's key for /api/v1, stored only as its SHA-256 digest, with its role."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    role: Mapped[ApiKeyRole] = mapped_column(
        Enum(ApiKeyRole, native_enum=False, length=16, values_callable=enum_values),
        default=ApiKeyRole.ADMIN,
        server_default=ApiKeyRole.ADMIN.value,
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[str | None] = mapped_column(String(300))
    revoked_by: Mapped[str | None] = mapped_column(String(300))

    organization: Mapped[Organization] = relationship()


class IdempotentRequest(Base):
    """A write an API key made with an Idempotency-Key header, kept to answer its retries."""

    __tablename__ = "idempotent_requests"

    api_key_id: Mapped[int] = mapped_column(
        ForeignKey("api_keys.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    # SHA-256 of the method, path and body: a retry must be the same request.
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AdminCredential(Base):
    """The password login of a user who administers their organization in /admin."""

    __tablename__ = "admin_credentials"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    # scrypt, with its parameters and salt: see rbac.accounts.
    password_hash: Mapped[str] = mapped_column(String(256))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LoginAttempts(Base):
    """Sign-in attempts counted in a window, by client address or by email (rbac.accounts).

    In the database, so that the limits hold across worker processes and hosts.
    """

    __tablename__ = "login_attempts"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)  # "address:…" or "email:…"
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer)


class AdminSession(Base):
    """A logged-in browser: its cookie's digest, its user, and when it ends."""

    __tablename__ = "admin_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A secret shown once (a new token, key or webhook secret), held from the POST that made
    # it to the page after its redirect, which takes it: never in the browser's cookie.
    shown_once: Mapped[str | None] = mapped_column(Text)


class AdminPasswordLink(Base):
    """A one-time link an admin gave, with which an account's holder sets its password.

    Its secret is in the link, its digest here: single use, short-lived, and only for an
    account whose every role the issuing admin could give (rbac.accounts).
    """

    __tablename__ = "admin_password_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_by: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AdminLoginChoice(Base):
    """A password that opened accounts in several organizations, waiting for the admin's pick.

    Its secret is in the browser's cookie, its digest here: single use, bound to the accounts
    the password opened, ended by logout, by a new password of any of them, and by time.
    """

    __tablename__ = "admin_login_choices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    accounts: Mapped[list[list[str]]] = mapped_column(JSONDocument)  # [user id, credential mark]
    next_page: Mapped[str] = mapped_column(String(2048), default="")
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class _Provisioned:
    """What users and groups share: an org, a directory (none if local), the IdP's document."""

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    directory_id: Mapped[int | None] = mapped_column(
        ForeignKey("directories.id", ondelete="CASCADE")
    )
    external_id: Mapped[str | None] = mapped_column(String(256))
    # Every SCIM attribute as the IdP sent it (minus id, meta and never-returned ones).
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    # meta.version, bumped in SQL (version = version + 1) so concurrent changes never lose one.
    # Declared as changed by the database on update, with eager_defaults: the bumped value
    # comes back in the UPDATE's RETURNING, not in a SELECT when the response's ETag reads it.
    version: Mapped[int] = mapped_column(Integer, default=1, server_onupdate=FetchedValue())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    __mapper_args__: ClassVar[dict] = {"eager_defaults": True}

    @staticmethod
    def indexes() -> tuple[Index, ...]:
        """Look-ups by externalId, and the stable SCIM page order, within a directory."""
        return (
            Index(None, "directory_id", "external_id"),
            Index(None, "directory_id", "created_at", "id"),
        )


class User(_Provisioned, Base):
    """A person, provisioned by a directory's IdP (or created locally by an admin)."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("directory_id", "user_name_key"), *_Provisioned.indexes())

    user_name: Mapped[str] = mapped_column(String(256))
    # userName compared case-insensitively (RFC 7643 §4.1.1): the key is its casefolded form.
    user_name_key: Mapped[str] = mapped_column(String(256))
    display_name: Mapped[str | None] = mapped_column(String(256))
    display_name_key: Mapped[str | None] = mapped_column(String(256))
    # The person's name parts, for events shaped as WorkOS's directory users.
    given_name: Mapped[str | None] = mapped_column(String(256))
    family_name: Mapped[str | None] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    emails: Mapped[list["UserEmail"]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )


class UserEmail(Base):
    """One email of a user: as sent, and casefolded for filters."""

    __tablename__ = "user_emails"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    value: Mapped[str | None] = mapped_column(String(320))
    value_key: Mapped[str | None] = mapped_column(String(320), index=True)
    type_key: Mapped[str | None] = mapped_column(String(64))
    primary: Mapped[bool | None] = mapped_column(Boolean)

    user: Mapped[User] = relationship(back_populates="emails")


class Group(_Provisioned, Base):
    """A group of users, provisioned by a directory's IdP (or created locally by an admin)."""

    __tablename__ = "groups"
    __table_args__ = _Provisioned.indexes()

    display_name: Mapped[str] = mapped_column(String(256))
    display_name_key: Mapped[str] = mapped_column(String(256))
    # Local groups (no directory) have a slug and a description (seed 001).
    slug: Mapped[str | None] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(String(1000))


def _pair_key(target: str, *, index: bool = False):
    """Half of an association table's primary key: a row dies with what it points at."""
    return mapped_column(ForeignKey(target, ondelete="CASCADE"), primary_key=True, index=index)


class GroupChild(Base):
    """A group inside a group (department → team): the child's members are the parent's too."""

    __tablename__ = "group_children"

    group_id: Mapped[str] = _pair_key("groups.id")
    child_group_id: Mapped[str] = _pair_key("groups.id", index=True)


class GroupMembership(Base):
    """One user's membership of one group: membership changes are row inserts and deletes."""

    __tablename__ = "group_memberships"

    group_id: Mapped[str] = _pair_key("groups.id")
    user_id: Mapped[str] = _pair_key("users.id", index=True)
    # The member's display name as the IdP sent it when adding it (SCIM members.display).
    display: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Resource(Base):
    """The organization itself, a project, or an asset (agent, tool, knowledge, workforce)."""

    __tablename__ = "resources"
    __table_args__ = (UniqueConstraint("organization_id", "parent_id", "slug"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    # A project's parent is the organization's resource; an asset's is its project.
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("resources.id", ondelete="CASCADE"), index=True
    )
    slug: Mapped[str] = mapped_column(String(100))
    created_by_user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WorkforceAgent(Base):
    """An agent a workforce uses: running the workforce needs Member on it too."""

    __tablename__ = "workforce_agents"

    workforce_id: Mapped[int] = _pair_key("resources.id")
    agent_id: Mapped[int] = _pair_key("resources.id", index=True)


class _RoleOnResource:
    """A role held on a resource, and when it was given."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_id: Mapped[int] = mapped_column(
        ForeignKey("resources.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Grant(_RoleOnResource, Base):
    """A role given directly to a user on a resource; IdP events never remove it."""

    __tablename__ = "grants"
    __table_args__ = (UniqueConstraint("user_id", "resource_id", "role"),)

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    granted_by: Mapped[str | None] = mapped_column(String(200))


class GroupAssignment(_RoleOnResource, Base):
    """A role a group holds on a resource; every transitive member inherits it."""

    __tablename__ = "group_assignments"
    __table_args__ = (UniqueConstraint("group_id", "resource_id", "role"),)

    group_id: Mapped[str] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    assigned_by: Mapped[str | None] = mapped_column(String(200))


class EffectiveAccess(Base):
    """Materialised effective access of a user on a resource, maintained incrementally.

    No foreign keys: a deleted user's or resource's rows are removed by the recomputation
    that reports their revocation, and `rolecall verify` finds any drift.
    """

    __tablename__ = "effective_access"

    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    resource_id: Mapped[int] = mapped_column(Integer, primary_key=True, index=True)
    organization_id: Mapped[int] = mapped_column(Integer, index=True)
    role: Mapped[str | None] = mapped_column(String(64))
    additive: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    source: Mapped[str | None] = mapped_column(String(300))


class Event(Base):
    """One access-change or directory event; its id is the consumers' cursor."""

    __tablename__ = "events"
    __table_args__ = (
        Index(None, "organization_id", "id"),
        Index(None, "organization_id", "user_id"),
        Index(None, "organization_id", "resource_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    type: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    # On PostgreSQL, the writing transaction's id (for support: which events came together).
    txid: Mapped[int | None] = mapped_column(BigInteger)
    # What the event is about, declared with its type (rbac.event_types) or read from its data
    # as it is written (rbac.event_log): the audit log filters on these, never on JSON paths.
    # Deferred: readers of the stream (the API, webhooks, folds) never load them.
    audience: Mapped[str] = mapped_column(String(16), server_default="security", deferred=True)
    user_id: Mapped[str | None] = mapped_column(String(36), deferred=True)
    group_id: Mapped[str | None] = mapped_column(String(36), deferred=True)
    resource_id: Mapped[int | None] = mapped_column(Integer, deferred=True)
    project_id: Mapped[int | None] = mapped_column(Integer, deferred=True)
    cause: Mapped[str | None] = mapped_column(String(40), deferred=True)
    actor: Mapped[str | None] = mapped_column(String(300), deferred=True)


class WebhookEndpoint(Base):
    """An org's webhook receiver, and where delivery to it stands (rbac.webhooks).

    Events are delivered to it one at a time in event order: `cursor` is the last event id
    done with (delivered, filtered out or dead-lettered). A worker leases the endpoint while it
    delivers; a lease that runs out (the worker died) lets another worker carry on.
    """

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(String(2048))
    # The signing secret, `whsec_` + base64: kept as is, since every delivery signs with it.
    secret: Mapped[str] = mapped_column(String(100))
    # The secret a rotation replaced, still signing beside the new one until it expires.
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    event_types: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(300))
    cursor: Mapped[int] = mapped_column(BigInteger, default=0)
    # The event at the head of the queue: how often it failed, since when, when to retry.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered: Mapped[int] = mapped_column(BigInteger, default=0)
    failed_attempts: Mapped[int] = mapped_column(BigInteger, default=0)
    dead: Mapped[int] = mapped_column(BigInteger, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DeadLetter(Base):
    """An event a webhook endpoint never accepted within the retry window; replayable."""

    __tablename__ = "webhook_dead_letters"
    __table_args__ = (Index(None, "endpoint_id", "event_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(BigInteger)
    attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    died_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    replayed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class JournalEntry(Base):
    """One SCIM request of a directory, for support when an IdP misbehaves (never a secret)."""

    __tablename__ = "request_journal"
    __table_args__ = (Index(None, "directory_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    directory_id: Mapped[int] = mapped_column(ForeignKey("directories.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    correlation_id: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(2048))
    status: Mapped[int] = mapped_column(Integer)
    duration_ms: Mapped[float] = mapped_column()
    tolerances: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    error_detail: Mapped[str | None] = mapped_column(String(2048))


class ReadCount(Base):
    """Successful SCIM reads of a directory, counted per minute and route instead of journaled.

    A read that succeeds writes nothing while it is served: each worker counts its reads in
    memory and adds them here about once a minute (scim/journal.py). Writes and failures keep
    their journal lines.
    """

    __tablename__ = "request_read_counts"

    directory_id: Mapped[int] = mapped_column(
        ForeignKey("directories.id", ondelete="CASCADE"), primary_key=True
    )
    minute: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True, index=True)
    route: Mapped[str] = mapped_column(String(100), primary_key=True)  # e.g. GET /Users/{id}
    count: Mapped[int] = mapped_column(Integer)
    duration_ms: Mapped[float] = mapped_column()  # summed over the count


__all__ = [
    "AdminCredential",
    "AdminSession",
    "ApiKey",
    "ApiKeyRole",
    "Directory",
    "DirectoryToken",
    "EffectiveAccess",
    "Event",
    "Grant",
    "Group",
    "GroupAssignment",
    "GroupChild",
    "GroupMembership",
    "IdempotentRequest",
    "JournalEntry",
    "Organization",
    "Provider",
    "ReadCount",
    "Resource",
    "User",
    "UserEmail",
    "WorkforceAgent",
]
