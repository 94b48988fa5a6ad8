"""The group graph: groups inside groups, walked in both directions, one query per depth."""

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from rbac.models import GroupChild, GroupMembership


def _closure(session: Session, start: Iterable[str], edge_from, edge_to) -> set[str]:
    """Return start and everything reachable from it along group_children edges."""
    seen = set(start)
    frontier = set(seen)
    while frontier:
        found = set(session.scalars(select(edge_to).where(edge_from.in_(frontier))))
        frontier = found - seen
        seen |= frontier
    return seen


def ancestor_groups(session: Session, group_ids: Iterable[str]) -> set[str]:
    """Return these groups and every group that contains one of them, at any depth."""
    return _closure(session, group_ids, GroupChild.child_group_id, GroupChild.group_id)


def descendant_groups(session: Session, group_id: str) -> set[str]:
    """Return a group and every group inside it, at any depth."""
    return _closure(session, [group_id], GroupChild.group_id, GroupChild.child_group_id)


def ancestors_of_each(session: Session, group_ids: set[str]) -> dict[str, set[str]]:
    """Return, for each group, itself and every group containing it: one query per depth."""
    parents: dict[str, set[str]] = {}
    seen, frontier = set(group_ids), set(group_ids)
    while frontier:
        edges = session.execute(
            select(GroupChild.child_group_id, GroupChild.group_id).where(
                GroupChild.child_group_id.in_(frontier)
            )
        ).all()
        for child, parent in edges:
            parents.setdefault(child, set()).add(parent)
        frontier = {parent for _, parent in edges} - seen
        seen |= frontier

    closures: dict[str, set[str]] = {}
    for group_id in group_ids:
        # Iterative, so that an IdP's deep nesting cannot exhaust the stack.
        reached, pending = {group_id}, [group_id]
        while pending:
            for parent in parents.get(pending.pop(), ()):
                if parent not in reached:
                    reached.add(parent)
                    pending.append(parent)
        closures[group_id] = reached
    return closures


def transitive_members(session: Session, group_id: str) -> set[str]:
    """Return the users of a group and of every group inside it, at any depth."""
    groups = descendant_groups(session, group_id)
    return set(
        session.scalars(select(GroupMembership.user_id).where(GroupMembership.group_id.in_(groups)))
    )


def parents_and_children(session: Session, group_id: str) -> tuple[list[str], list[str]]:
    """Return the groups directly containing a group, and the groups directly inside it."""
    parents = session.scalars(
        select(GroupChild.group_id).where(GroupChild.child_group_id == group_id)
    )
    children = session.scalars(
        select(GroupChild.child_group_id).where(GroupChild.group_id == group_id)
    )
    return sorted(parents), sorted(children)
