"""Idempotency keys: a write retried with the same key gets the first answer, not a second write.

An API key's Idempotency-Key values are its own, kept for RETENTION. Only successful writes
are kept: a failed one changed nothing, so running its retry again is safe.
"""

from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from rbac.db import utcnow
from rbac.models import IdempotentRequest

RETENTION = timedelta(hours=24)


def find_answer(session: Session, api_key_id: int, key: str) -> IdempotentRequest | None:
    """Return the kept answer to an API key's write made with this key, if still kept."""
    return session.scalar(
        select(IdempotentRequest).where(
            IdempotentRequest.api_key_id == api_key_id,
            IdempotentRequest.key == key,
            IdempotentRequest.created_at > utcnow() - RETENTION,
        )
    )


def keep_answer(
    session: Session, api_key_id: int, key: str, fingerprint: str, status: int, body: str
) -> None:
    """Keep the answer to a write made with this key (and forget the key's expired ones)."""
    now = utcnow()
    session.execute(
        delete(IdempotentRequest).where(
            IdempotentRequest.api_key_id == api_key_id,
            IdempotentRequest.created_at <= now - RETENTION,
        )
    )
    session.add(
        IdempotentRequest(
            api_key_id=api_key_id,
            key=key,
            fingerprint=fingerprint,
            status=status,
            body=body,
            created_at=now,
        )
    )
    session.flush()
