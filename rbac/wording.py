"""Sources in words: the one way explain, check and events say where a role comes from."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from rbac.evaluation import ResourceKind, Source, SourceKind
from rbac.models import Group, Resource
from rbac.resources import resource_path


class SourceWords:
    """Names sources with group names and resource addresses, loaded once for many sources."""

    def __init__(self, session: Session, sources, resources: dict[int, Resource]):
        group_ids = {s.group_id for s in sources if s is not None and s.group_id}
        self.group_names = {}
        if group_ids:
            query = select(Group.id, Group.display_name).where(Group.id.in_(group_ids))
            self.group_names = dict(session.execute(query).all())
        self.resources = resources

    def label(self, source: Source | None) -> str | None:
        """Return a short label: direct, default, group NAME, cascade from ROLE on ADDRESS."""
        if source is None:
            return None
        if source.kind == SourceKind.GROUP:
            return f"group {self._group(source)}"
        if source.kind == SourceKind.CASCADE:
            return f"cascade from {source.from_role} on {self._origin(source)}"
        return source.kind.value

    def reason(self, source: Source) -> str:
        """Return a sentence saying why the source gives its role."""
        if source.kind == SourceKind.GROUP:
            return f"group {self._group(source)!r}"
        if source.kind == SourceKind.DEFAULT:
            return "the organization's default role of every active user"
        if source.kind == SourceKind.DIRECT:
            return "granted directly"
        origin = self.resources.get(source.from_resource_id)
        path = self._origin(source)
        if origin is not None and origin.kind == ResourceKind.ORGANIZATION.value:
            return f"cascade: {source.from_role} of the organization is {source.role} everywhere"
        if origin is not None and origin.kind == ResourceKind.PROJECT.value:
            return f"cascade: {source.from_role} of {path} is {source.role} of its assets"
        return f"cascade: holding {source.from_role} on {path} makes a {source.role} of its project"

    def _group(self, source: Source) -> str:
        return self.group_names.get(source.group_id, source.group_id)

    def _origin(self, source: Source) -> str:
        origin = self.resources.get(source.from_resource_id)
        if origin is None:
            return f"resource {source.from_resource_id}"
        return resource_path(origin, self.resources)
