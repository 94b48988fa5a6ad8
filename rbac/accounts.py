"""Admin accounts: a user of an organization with a password login for /admin.

An admin is an ordinary user of the org (local, or provisioned by an IdP) with a credential:
a password hashed with scrypt (a standard memory-hard KDF, from the standard library). What
an admin may see and do follows the user's own roles, checked by the engine: the account only
proves who is at the keyboard. Sessions live on the server (their cookie's digest is stored),
so logging out, expiring and deactivating the user end them at once.
"""

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.orm import Session

from rbac import provisioning
from rbac.admin import grants, principals
from rbac.authorization import authorize_role
from rbac.catalog import Scope
from rbac.context import SYSTEM, Context
from rbac.db import casefold_key, conflict_insert, utcnow
from rbac.errors import DomainError, Forbidden, InvalidValue, NotFound
from rbac.event_log import record_action, record_event
from rbac.hash_slots import UNBOUNDED
from rbac.models import (
    AdminCredential,
    AdminLoginChoice,
    AdminPasswordLink,
    AdminSession,
    EffectiveAccess,
    LoginAttempts,
    Organization,
    Resource,
    User,
)
from rbac.payloads import (
    AccountUnlocked,
    Login,
    PasswordLinkCreated,
    PasswordSetByLink,
    PasswordSetByOperator,
)
from rbac.resources import org_resource
from rbac.tenancy import hash_token

# scrypt's cost as Werkzeug's default (2**15, 8, 1): about 32 MiB and 50-100 ms a hash here.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
MIN_PASSWORD_LENGTH = 12
# Five wrong passwords in a row lock the account for a quarter of an hour.
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
# Sign-in attempts, whatever their outcome, per client address and per email in a window:
# past them an attempt is refused before any hash (an office behind one address has room).
ADDRESS_LIMIT = (30, timedelta(minutes=5))
EMAIL_LIMIT = (10, timedelta(minutes=15))
SESSION_LIFETIME = timedelta(hours=8)
# Live sessions a user may hold (browsers, devices); sessions over are kept this long, then go.
MAX_SESSIONS = 10
SESSION_RETENTION = timedelta(days=1)


def hash_password(password: str, salt: bytes | None = None) -> str:
    """Return a password's scrypt hash with its parameters and its salt (fresh unless given)."""
    salt = salt or secrets.token_bytes(16)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    encoded = [base64.b64encode(part).decode() for part in (salt, digest)]
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${encoded[0]}${encoded[1]}"


def verify_password(stored: str, password: str) -> bool:
    """Whether a password matches a stored hash (compared in constant time)."""
    return _verify_all([stored], password)[0]


def _verify_all(stored: Sequence[str], password: str) -> list[bool]:
    """Whether a password matches each stored hash, with one scrypt per distinct salt.

    The accounts of one email share a salt (`_salt_for`): a sign-in costs one hash, however
    many organizations the email administers, so its time does not tell how many it has.
    """
    computed: dict[tuple, bytes | None] = {}
    matches = []
    for hashed in stored:
        try:
            scheme, n, r, p, salt, digest = hashed.split("$")
            params = (int(n), int(r), int(p), base64.b64decode(salt))
            if scheme != "scrypt":
                raise ValueError(scheme)
            if params not in computed:
                computed[params] = _scrypt(password, params[3], *params[:3])
            matches.append(hmac.compare_digest(computed[params], base64.b64decode(digest)))
        except ValueError:
            matches.append(False)
    return matches


def _salt_for(session: Session, user: User) -> bytes:
    """The salt of the email's other accounts (so one hash checks them all), or a fresh one."""
    other = session.scalar(
        select(AdminCredential.password_hash)
        .join(User, User.id == AdminCredential.user_id)
        .where(User.user_name_key == user.user_name_key, User.id != user.id)
        .order_by(AdminCredential.created_at)
        .limit(1)
    )
    try:
        return base64.b64decode(other.split("$")[4]) if other else secrets.token_bytes(16)
    except (IndexError, ValueError):
        return secrets.token_bytes(16)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, maxmem=128 * n * r * 2, dklen=32
    )


def create_admin(ctx: Context, email: str, password: str, role: str = "owner") -> User:
    """Give a user of the org (made local if none has this userName) an org role and a password.

    The role is a direct grant, listed and revocable like any other; running it again for the
    same email sets a new password (and unlocks the account). Only the operator runs it: an
    admin's password is never set by another admin (who would then log in as them).
    """
    if ctx.actor != SYSTEM:
        raise Forbidden("only the operator sets an admin's password (rolecall admin create)")
    if "@" not in email or len(email) > 256 or email != email.strip():
        raise InvalidValue(f"{email!r} is not an email address")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidValue(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    user = _user_named(ctx, email)
    if user is None:
        user = principals.create_local_user(ctx, email)
    role_name = ctx.catalog.role(Scope.ORGANIZATION, role).name
    grants.give_role(ctx, user, role_name, org_resource(ctx.session, ctx.org))
    credential = ctx.session.get(AdminCredential, user.id) or AdminCredential(user_id=user.id)
    credential.password_hash = hash_password(password, _salt_for(ctx.session, user))
    credential.failed_logins, credential.locked_until = 0, None
    ctx.session.add(credential)
    # A new password ends every session the old one opened.
    provisioning.end_admin_sessions(ctx.session, user)
    ctx.session.flush()
    record_action(ctx, "admin.password.set", PasswordSetByOperator(_account(user), role_name))
    return user


def _user_named(ctx: Context, email: str) -> User | None:
    found = ctx.session.scalars(
        select(User).where(
            User.organization_id == ctx.org.id, User.user_name_key == casefold_key(email)
        )
    ).all()
    if len(found) > 1:
        raise InvalidValue(f"{len(found)} users are named {email!r}: remove the ambiguity first")
    return found[0] if found else None


@dataclass(frozen=True)
class LoginResult:
    """The accounts the password opened (one per organization), and whether one is locked."""

    users: tuple[User, ...] = ()
    locked: bool = False


def log_in(
    session: Session,
    email: str,
    password: str,
    now: datetime | None = None,
    *,
    address: str | None = None,
    hashing: Callable[[], AbstractContextManager] = UNBOUNDED,
) -> LoginResult:
    """Check an email and password against every admin account with that email.

    An attempt from an address, or for an email, past its limit is refused (TooManyAttempts)
    before any hash; the others are counted (`count_attempt`). One scrypt, within a
    slot of `hashing` (rbac.hash_slots: a bound per host; Busy if none is free), checks every
    account of the email: they share a salt, so the time taken does not tell how many there
    are, nor which exist (an unknown email costs a hash too).

    A wrong password counts against the accounts with that email, unless it opened one of
    them (an admin of two orgs with two passwords does not lock one by using the other); the
    fifth failure in a row locks an account for LOCKOUT. Failures are counted in the database
    (`failed_logins + 1`), so parallel guesses each count. A locked account's hash is checked
    too: the time taken does not tell locked accounts apart. A deactivated user cannot log
    in. Someone who administers several organizations with one email and password opens all
    of them, in the order of their slugs, and picks one.
    """
    now = now or utcnow()
    # The slot first: when the host is busy hashing, an attempt costs not even a read.
    with hashing():
        refuse_past_limits(session, email, address, now)
        candidates = session.execute(
            select(User, AdminCredential, Organization.slug)
            .join(AdminCredential, AdminCredential.user_id == User.id)
            .join(Organization, Organization.id == User.organization_id)
            .where(User.user_name_key == casefold_key(email))
            .order_by(Organization.slug)
        ).all()
        stored = [credential.password_hash for _, credential, _ in candidates]
        rights = _verify_all(stored or [_NO_ACCOUNT], password)
    # Written after the hash: on SQLite a write holds the database's one write lock until
    # commit, and a hash held under it made every sign-in, and every SCIM write, wait.
    count_attempt(session, email, address, now)
    if not candidates:
        return LoginResult()
    matched, missed, locked = [], [], False
    for (user, credential, _), right in zip(candidates, rights, strict=True):
        if credential.locked_until is not None and credential.locked_until > now:
            locked = True
        elif right and user.active:
            _login_event(session, user, "admin.login.succeeded", credential.failed_logins)
            credential.failed_logins, credential.last_login_at = 0, now
            matched.append(user)
        else:
            missed.append((user, credential))
    if not matched:
        for user, credential in missed:
            locked |= _count_failure(session, user, credential, now)
    session.flush()
    return LoginResult(tuple(matched), locked and not matched)


class TooManyAttempts(DomainError):
    """Sign-in attempts from this address, or for this email, passed their limit for now."""

    def __init__(self, message: str, retry_after: timedelta):
        super().__init__(message)
        self.retry_after = retry_after


def _limits(email: str, address: str | None) -> list[tuple[str, int, timedelta]]:
    """The counters an attempt counts against: (key, most attempts, window)."""
    limits = [(_email_key(casefold_key(email)), *EMAIL_LIMIT)]
    if address:
        limits.insert(0, (f"address:{address[:100]}", *ADDRESS_LIMIT))
    return limits


def _email_key(email_key: str) -> str:
    """The counter of an email's attempts (its case-folded form, as `user_name_key` holds it)."""
    return f"email:{email_key[:250]}"


def _used_up(
    counted: LoginAttempts | None, most: int, window: timedelta, now: datetime
) -> datetime | None:
    """When a counter's window ends, if its attempts used it up; else None."""
    if counted and counted.attempts >= most and counted.window_started_at + window > now:
        return counted.window_started_at + window
    return None


def refuse_past_limits(session: Session, email: str, address: str | None, now: datetime) -> None:
    """Refuse (TooManyAttempts) an attempt whose address or email used up its window.

    A read: refusing writes nothing, so a flood of refused attempts costs no write lock.
    """
    for key, most, window in _limits(email, address):
        if ends := _used_up(session.get(LoginAttempts, key), most, window, now):
            what = "this address" if key.startswith("address:") else "this email"
            raise TooManyAttempts(
                f"too many sign-in attempts from {what}: try again later", ends - now
            )


def count_attempt(session: Session, email: str, address: str | None, now: datetime) -> None:
    """Count a sign-in attempt against its address and its email.

    The counters are rows of the database (`login_attempts`), incremented in one statement
    each, so that the limits hold across workers and hosts. A window opens at an attempt and
    lasts its length; the rows of windows long over are pruned as attempts come.
    """
    longest = max(ADDRESS_LIMIT[1], EMAIL_LIMIT[1])
    session.execute(delete(LoginAttempts).where(LoginAttempts.window_started_at < now - longest))
    for key, _, window in _limits(email, address):
        _counted(session, key, window, now)


def _counted(session: Session, key: str, window: timedelta, now: datetime) -> None:
    """Add an attempt to a key's window (a new one if it is over)."""
    insert = conflict_insert(session.get_bind().dialect.name)
    over = LoginAttempts.window_started_at <= now - window
    statement = (
        insert(LoginAttempts)
        .values(key=key, window_started_at=now, attempts=1)
        .on_conflict_do_update(
            index_elements=[LoginAttempts.key],
            set_={
                "attempts": case((over, 1), else_=LoginAttempts.attempts + 1),
                "window_started_at": case((over, now), else_=LoginAttempts.window_started_at),
            },
        )
    )
    session.execute(statement)


def locked_until(session: Session, user: User, now: datetime | None = None) -> datetime | None:
    """Until when sign-ins to an admin account are refused (failures, or its email's limit)."""
    now = now or utcnow()
    credential = session.get(AdminCredential, user.id)
    ends = []
    if credential is not None and credential.locked_until and credential.locked_until > now:
        ends.append(credential.locked_until)
    counted = session.get(LoginAttempts, _email_key(user.user_name_key))
    if email_ends := _used_up(counted, *EMAIL_LIMIT, now):
        ends.append(email_ends)
    return max(ends, default=None)


def unlock(ctx: Context, user: User) -> None:
    """Unlock an admin account locked by failed logins, and forget its email's attempts.

    Allowed to an admin who could give every role the account holds (as a set-password link
    is): the per-email limit must not become a free lockout of a named admin.
    """
    credential = ctx.session.get(AdminCredential, user.id)
    if credential is None or user.organization_id != ctx.org.id:
        raise NotFound(f"{user.user_name} has no admin account here")
    _authorize_account(ctx, user)
    credential.failed_logins, credential.locked_until = 0, None
    ctx.session.execute(
        delete(LoginAttempts).where(LoginAttempts.key == _email_key(user.user_name_key))
    )
    ctx.session.flush()
    record_action(ctx, "admin.login.unlocked", AccountUnlocked(_account(user)))


def _count_failure(session: Session, user: User, credential: AdminCredential, now) -> bool:
    """Count one failed login in the database itself, locking at the limit; say if it locked.

    Failures are events in the organization's audit log, aggregated so that a flood of
    guesses cannot fill it (nor take its event lock at every guess): the first failure of a
    series, and the lockout that ends it with its count. An email with no account is no
    organization's event at all.
    """
    failures = session.scalar(
        update(AdminCredential)
        .where(AdminCredential.user_id == credential.user_id)
        .values(failed_logins=AdminCredential.failed_logins + 1)
        .returning(AdminCredential.failed_logins)
    )
    if failures == 1:
        _login_event(session, user, "admin.login.failed", failures)
    if failures < MAX_FAILED_LOGINS:
        return False
    session.execute(
        update(AdminCredential)
        .where(AdminCredential.user_id == credential.user_id)
        .values(failed_logins=0, locked_until=now + LOCKOUT)
    )
    _login_event(session, user, "admin.login.locked", failures)
    return True


def _login_event(session: Session, user: User, kind: str, failures: int) -> None:
    """Record a login's event in the account's organization: the account, never the password.

    Only a success is the admin's act; a failure is anyone's who typed the email.
    """
    actor = admin_label(user) if kind == "admin.login.succeeded" else "anonymous"
    record_event(session, user.organization_id, kind, Login(_account(user), failures), actor)


def _account(user: User) -> dict:
    """How admin actions name an admin account: its user's id and login."""
    return {"id": user.id, "username": user.user_name}


def admin_label(user: User) -> str:
    """How events name an admin acting in /admin: by their login, so the audit log reads well."""
    return f"admin:{user.user_name}"


# What a sign-in for an email with no account checks, so that a miss costs what a wrong
# password does: the hash of a random password nobody knows (kept as text, so that the first
# miss costs no second hash).
_NO_ACCOUNT = (
    "scrypt$32768$8$1$9xiUGrpXHsvb1/uvp/0evg==$MJWG1xF/z7xOs8Y5mqjNcMOFYDt9VXwR7oL/F6Qzmok="
)


def open_session(session: Session, user: User, lifetime: timedelta = SESSION_LIFETIME) -> str:
    """Start a session for a user; return the secret its cookie carries.

    A user keeps at most MAX_SESSIONS live (a new one ends the oldest), and sessions over for
    SESSION_RETENTION are deleted, so that logins cannot grow the table without end.
    """
    token = secrets.token_urlsafe(32)
    now = utcnow()
    over = func.coalesce(AdminSession.ended_at, AdminSession.expires_at)
    session.execute(delete(AdminSession).where(over < now - SESSION_RETENTION))
    live = session.scalars(
        select(AdminSession.id)
        .where(
            AdminSession.user_id == user.id,
            AdminSession.ended_at.is_(None),
            AdminSession.expires_at > now,
        )
        .order_by(AdminSession.created_at.desc(), AdminSession.id.desc())
        .offset(MAX_SESSIONS - 1)
    ).all()
    if live:
        session.execute(update(AdminSession).where(AdminSession.id.in_(live)).values(ended_at=now))
    session.add(
        AdminSession(
            token_hash=hash_token(token), user_id=user.id, created_at=now, expires_at=now + lifetime
        )
    )
    session.flush()
    return token


def session_user(session: Session, token: str) -> User | None:
    """Return the active user of a live session, or None (ended, expired, user deactivated)."""
    found = _live(session, AdminSession, token)
    if found is None:
        return None
    user = session.get(User, found.user_id)
    if user is None or not user.active or session.get(AdminCredential, user.id) is None:
        return None
    return user


def end_session(session: Session, token: str) -> None:
    """End a session (logging out); an unknown or ended one is left as it is."""
    found = session.scalar(select(AdminSession).where(AdminSession.token_hash == hash_token(token)))
    if found is not None and found.ended_at is None:
        found.ended_at = utcnow()
        session.flush()


# A secret shown once is held at most this long for the page that shows it.
SHOWN_ONCE_LIFETIME = timedelta(minutes=5)


def hold_shown_once(session: Session, token: str, page: str, secret: str) -> None:
    """Hold a new secret with the admin's session, for the page the admin is sent to next."""
    found = _live(session, AdminSession, token)
    if found is not None:
        until = (utcnow() + SHOWN_ONCE_LIFETIME).isoformat()
        found.shown_once = json.dumps({"page": page, "secret": secret, "until": until})
        session.flush()


def take_shown_once(session: Session, token: str, page: str) -> str | None:
    """Return the secret held for this page, and forget it; None if there is none (any more)."""
    found = _live(session, AdminSession, token)
    if found is None or found.shown_once is None:
        return None
    held = json.loads(found.shown_once)
    if held["page"] != page:
        return None
    found.shown_once = None
    session.flush()
    if datetime.fromisoformat(held["until"]) < utcnow():
        return None
    return held["secret"]


# After the password, an admin of several organizations has this long to pick one.
CHOICE_LIFETIME = timedelta(minutes=5)


def open_choice(session: Session, users: Sequence[User], next_page: str) -> str:
    """Hold the accounts a password opened, for the admin to pick one; return the choice's secret.

    The choice is bound to each account's credential as it is now: a new password of any of
    them ends it, as logging out does; picking ends it too (single use).
    """
    token = secrets.token_urlsafe(32)
    session.add(
        AdminLoginChoice(
            token_hash=hash_token(token),
            accounts=[[user.id, _credential_mark(session, user.id)] for user in users],
            next_page=next_page[:2048],
            expires_at=utcnow() + CHOICE_LIFETIME,
        )
    )
    session.flush()
    return token


def choice_accounts(session: Session, token: str) -> list[tuple[User, Organization]]:
    """The accounts, with their organizations, a live choice still offers (none if it is over)."""
    choice = _live(session, AdminLoginChoice, token)
    if choice is None:
        return []
    offered = {
        user_id for user_id, mark in choice.accounts if _credential_mark(session, user_id) == mark
    }
    rows = session.execute(
        select(User, Organization)
        .join(Organization, Organization.id == User.organization_id)
        .where(User.id.in_(offered), User.active.is_(True))
        .order_by(Organization.slug)
    ).all()
    return [(user, org) for user, org in rows]


def take_choice(session: Session, token: str, user_id: str) -> tuple[User, str] | None:
    """End a choice by picking one of its accounts; return it and the page asked for, or None."""
    choice = _live(session, AdminLoginChoice, token)
    chosen = {user.id: user for user, _ in choice_accounts(session, token)}.get(user_id)
    if choice is None or chosen is None:
        return None
    choice.ended_at = utcnow()
    session.flush()
    return chosen, choice.next_page


def end_choice(session: Session, token: str) -> None:
    """End a choice unpicked (logging out, or logging in afresh)."""
    choice = _live(session, AdminLoginChoice, token)
    if choice is not None:
        choice.ended_at = utcnow()
        session.flush()


def _credential_mark(session: Session, user_id: str) -> str | None:
    """A digest of an account's password hash: it changes whenever the password does."""
    credential = session.get(AdminCredential, user_id)
    if credential is None:
        return None
    return hashlib.sha256(credential.password_hash.encode()).hexdigest()[:32]


# A set-password link works this long, once.
PASSWORD_LINK_LIFETIME = timedelta(hours=24)


def _authorize_account(ctx: Context, user: User) -> None:
    """Let the actor act on an admin account only if they could give its every role."""
    held = ctx.session.execute(
        select(EffectiveAccess.role, EffectiveAccess.additive, Resource)
        .join(Resource, Resource.id == EffectiveAccess.resource_id)
        .where(EffectiveAccess.user_id == user.id)
    )
    for role, additive, resource in held:
        for name in {role, *additive} - {None}:
            authorize_role(ctx, name, resource)


def issue_password_link(ctx: Context, user: User) -> str:
    """Give an admin account's holder a one-time way to set its password; return its secret.

    No admin sets another's password (they would then log in as them): the most one may do is
    this link, and only for an account whose every role, on every resource, they could give
    themselves. Issuing it ends the account's earlier unused links.
    """
    if user.organization_id != ctx.org.id:
        raise NotFound(f"no user {user.id!r} in organization {ctx.org.slug!r}")
    if ctx.session.get(AdminCredential, user.id) is None:
        raise InvalidValue(f"{user.user_name} has no admin account (rolecall admin create)")
    _authorize_account(ctx, user)
    now = utcnow()
    ctx.session.execute(
        update(AdminPasswordLink)
        .where(AdminPasswordLink.user_id == user.id, AdminPasswordLink.used_at.is_(None))
        .values(used_at=now)
    )
    token = secrets.token_urlsafe(32)
    link = AdminPasswordLink(
        token_hash=hash_token(token),
        user_id=user.id,
        created_by=ctx.actor.label,
        created_at=now,
        expires_at=now + PASSWORD_LINK_LIFETIME,
    )
    ctx.session.add(link)
    ctx.session.flush()
    record_action(ctx, "admin.password_link.created", PasswordLinkCreated(_account(user), link.id))
    return token


def password_link_user(session: Session, token: str) -> User | None:
    """The account a live set-password link is for, or None (unknown, used or expired)."""
    link = _live(session, AdminPasswordLink, token)
    return session.get(User, link.user_id) if link is not None else None


def set_password_with_link(session: Session, token: str, password: str) -> User:
    """Set an account's password with its one-time link; the link and every session end."""
    link = _live(session, AdminPasswordLink, token)
    if link is None:
        raise InvalidValue("this link is used, expired or unknown: ask your admin for a new one")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidValue(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    user = session.get(User, link.user_id)
    credential = session.get(AdminCredential, user.id)
    credential.password_hash = hash_password(password, _salt_for(session, user))
    credential.failed_logins, credential.locked_until = 0, None
    link.used_at = utcnow()
    provisioning.end_admin_sessions(session, user)
    session.flush()
    data = PasswordSetByLink(_account(user), link.id, link.created_by)
    record_event(session, user.organization_id, "admin.password.set", data, admin_label(user))
    return user


def _live(session: Session, model, token: str):
    """The session, choice or link a secret names, unless it ended (or was used) or expired."""
    found = session.scalar(select(model).where(model.token_hash == hash_token(token)))
    if found is None or found.expires_at <= utcnow():
        return None
    ended = getattr(found, "ended_at", None) or getattr(found, "used_at", None)
    return found if ended is None else None
