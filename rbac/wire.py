"""The wire format of an event: the JSON document GET /api/v1/events serves and webhooks send.

One definition for both, so that a consumer reading the feed and a webhook receiver see the
same bytes for the same event (the webhook body is this document as compact JSON).
"""

from typing import TYPE_CHECKING, Any

from rbac.models import Event

if TYPE_CHECKING:
    from rbac.audit import AuditEntry


def event_document(event: "Event | AuditEntry") -> dict[str, Any]:
    """Return an event (or an audit entry) as consumers read it; `id` is the cursor and key."""
    return {
        "id": event.id,
        "type": event.type,
        "created_at": event.created_at.isoformat(),
        "data": event.data,
    }
