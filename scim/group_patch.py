"""PATCH on a group: membership operations become row deltas, the rest a scim2-models patch.

A group's members are never loaded to apply an add or a remove, so the cost of a
membership PATCH does not grow with the group. Consecutive adds (or removes) are applied as
one: Entra removes members one operation each, ten to a PATCH.
"""

from scim2_models import (
    InvalidFilterException,
    InvalidPathException,
    InvalidValueException,
    PatchOp,
    PatchOperation,
    ScimPolicy,
)
from scim2_models.path import CompareOperator, Comparison, LogicalExpr, LogicalOperator
from sqlalchemy.orm import Session

from rbac import provisioning
from rbac.models import Group
from scim.mapping import ScimGroup, group_fields, to_scim_group
from scim.quirks import Note

Op = PatchOperation.Op


def apply_group_patch(
    session: Session, group: Group, patch: PatchOp[ScimGroup], policy: ScimPolicy, note: Note
) -> tuple[list, bool]:
    """Apply a validated PatchOp to a group; return its events and whether members were touched."""
    deltas: list[tuple[Op, dict | None]] = []  # membership changes, in the PATCH's order
    attribute_operations = []
    for operation in patch.operations:
        if operation.path is None and isinstance(operation.value, dict):
            members_key = next((k for k in operation.value if k.lower() == "members"), None)
            if members_key is not None:
                rest = {k: v for k, v in operation.value.items() if k != members_key}
                deltas.append(_delta_by_value(operation.op, operation.value[members_key]))
                if rest:
                    attribute_operations.append(operation.model_copy(update={"value": rest}))
                continue
        elif operation.path is not None and operation.path.parts[0].lower() == "members":
            deltas.append(_delta_by_path(operation, policy))
            continue
        attribute_operations.append(operation)

    changes = _apply_deltas(session, group, deltas)
    if attribute_operations:
        scim_group = to_scim_group(group)
        partial = patch.model_copy(update={"operations": attribute_operations})
        if partial.patch(scim_group, scim_policy=policy):
            changes += provisioning.update_group(session, group, group_fields(scim_group))
    return changes, bool(deltas)


def _delta_by_value(op: Op, value) -> tuple[Op, dict]:
    if op in (Op.add, Op.replace_):
        return op, _members(value)
    raise InvalidPathException(detail="remove needs a path")


def _delta_by_path(operation, policy: ScimPolicy) -> tuple[Op, dict | None]:
    """A members operation as (add, members), (replace, members), (remove, ids or None: all)."""
    path = operation.path
    if len(path.parts) > 1:
        raise InvalidPathException(detail=f"{path}: members are changed as a whole")
    if path.value_filter is not None:
        if operation.op != Op.remove:
            raise InvalidPathException(detail=f"{operation.op.value} on {path} is not supported")
        return Op.remove, dict.fromkeys(_filter_ids(path.value_filter))
    if operation.op in (Op.add, Op.replace_):
        return operation.op, _members(operation.value or [])
    if (
        operation.value is not None
        and policy.remove_value_as_filter == ScimPolicy.RemoveValue.apply
    ):
        return Op.remove, _members(operation.value)
    if operation.value is not None:
        raise InvalidValueException(detail="remove takes its target from path, not value")
    return Op.remove, None


def _apply_deltas(session: Session, group: Group, deltas: list) -> list:
    """Apply membership changes in order, consecutive adds (or removes) as one."""
    merged: list[tuple[Op, dict | None]] = []
    for op, members in deltas:
        previous = merged[-1] if merged else None
        if (
            previous
            and previous[0] == op
            and op != Op.replace_
            and None not in (previous[1], members)
        ):
            # The first display sent for a member wins, as when the adds run one by one.
            merged[-1] = (op, members | previous[1])
        else:
            merged.append((op, members))
    changes: list = []
    for op, members in merged:
        if op == Op.add:
            changes += provisioning.add_members(session, group, members)
        elif op == Op.replace_:
            changes += provisioning.set_members(session, group, members)
        elif members is None:
            changes += provisioning.remove_all_members(session, group)
        else:
            changes += provisioning.remove_members(session, group, members)
    return changes


def _members(value) -> dict[str, str | None]:
    """Return the members of a PATCH value (a member, or a list of them) as {id: display}."""
    items = value if isinstance(value, list) else [value]
    members: dict[str, str | None] = {}
    for item in items:
        if not isinstance(item, dict):
            item = getattr(item, "model_dump", dict)()
        member_id, display = item.get("value"), item.get("display")
        if not isinstance(member_id, str) or not member_id:
            raise InvalidValueException(detail="each member needs a string value (the user id)")
        if display is not None and not isinstance(display, str):
            raise InvalidValueException(detail="a member's display must be a string")
        members[member_id] = display
    return members


def _filter_ids(node) -> list[str]:
    """Return the ids a members[...] filter selects: value eq comparisons joined by or."""
    if isinstance(node, Comparison):
        if node.attr_path.attr.lower() != "value" or node.attr_path.sub_attr is not None:
            raise InvalidFilterException(detail="members can only be selected by value")
        if node.op != CompareOperator.eq or not isinstance(node.value, str):
            raise InvalidFilterException(detail='members can only be selected by value eq "id"')
        return [node.value]
    if isinstance(node, LogicalExpr) and node.op == LogicalOperator.or_:
        return [member_id for term in node.terms for member_id in _filter_ids(term)]
    raise InvalidFilterException(
        detail='members can only be selected by value eq "id" joined by or'
    )
