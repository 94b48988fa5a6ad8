"""Resources of an organization: the org itself, projects, assets; their addresses and lookups.

An address is `org`, `project:PROJECT` or `asset:PROJECT/ASSET`. Creating projects and assets
is an admin operation (`rbac.admin.resources`).
"""

import re

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, aliased

from rbac.catalog import Scope
from rbac.errors import InvalidValue, NotFound
from rbac.evaluation import ResourceKind, ResourceRef
from rbac.models import Organization, Resource

ASSET_KINDS = tuple(k.value for k in ResourceKind if k.scope == Scope.ASSET)
# Slugs name resources in addresses (project:SLUG, asset:PROJECT/SLUG): no ':' or '/'.
SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def org_resource(session: Session, org: Organization) -> Resource:
    """Return the resource standing for the organization itself, creating it if missing."""
    resource = session.scalar(_ORG_RESOURCE, {"org": org.id})
    if resource is None:
        resource = Resource(
            organization_id=org.id, kind=ResourceKind.ORGANIZATION.value, slug=org.slug
        )
        session.add(resource)
        session.flush()
    return resource


def resource_path(resource: Resource, parents: dict[int, Resource]) -> str:
    """Return a resource's address: org, project:SLUG or asset:PROJECT/SLUG."""
    if resource.kind == ResourceKind.ORGANIZATION.value:
        return "org"
    if resource.kind == ResourceKind.PROJECT.value:
        return f"project:{resource.slug}"
    return f"asset:{parents[resource.parent_id].slug}/{resource.slug}"


def address_of(session: Session, resource: Resource) -> str:
    """Return a resource's address, loading its parents as needed."""
    return resource_path(resource, resource_ancestors(session, resource))


def parse_address(address: str) -> tuple[str, dict[str, str]]:
    """Return an address's form (org, project or asset) and the slugs it names, bound by name."""
    form, _, rest = address.partition(":")
    if address == "org":
        return "org", {}
    if form == "project" and rest and "/" not in rest:
        return "project", {"project": rest}
    if form == "asset" and rest.count("/") == 1:
        project, asset = rest.split("/")
        return "asset", {"project": project, "asset": asset}
    raise InvalidValue(f"{address!r} is not org, project:PROJECT or asset:PROJECT/ASSET")


def find_resource(session: Session, org: Organization, address: str) -> Resource:
    """Resolve org, project:PROJECT or asset:PROJECT/ASSET; raise NotFound or InvalidValue."""
    form, names = parse_address(address)
    if form == "org":
        return org_resource(session, org)
    found = session.scalar(RESOURCE_BY_ADDRESS[form], {"org": org.id, **names})
    if found is not None:
        return found
    project = {"org": org.id, "project": names["project"]}
    if form == "project" or session.scalar(_PROJECT, project) is None:
        raise NotFound(f"no project {names['project']!r} in organization {org.slug!r}")
    raise NotFound(f"no asset {names['asset']!r} in organization {org.slug!r}")


def resource_ancestors(session: Session, resource: Resource) -> dict[int, Resource]:
    """Return a resource and every resource above it, by id."""
    found = {resource.id: resource}
    current = resource
    while current.parent_id is not None:
        current = session.get(Resource, current.parent_id)
        found[current.id] = current
    return found


def resource_ref(resource: Resource) -> ResourceRef:
    """Return a resource as pure evaluation sees it."""
    kind = ResourceKind(resource.kind)
    return ResourceRef(resource.id, kind, resource.parent_id if kind.scope == Scope.ASSET else None)


# Built once, run with values bound: check resolves an address on every request, and composing
# a statement costs more than running it (docs/performance.md).
_IN_ORG = Resource.organization_id == bindparam("org")
_ORG_RESOURCE = select(Resource).where(_IN_ORG, Resource.kind == ResourceKind.ORGANIZATION.value)
_PROJECT = select(Resource).where(
    _IN_ORG, Resource.kind == ResourceKind.PROJECT.value, Resource.slug == bindparam("project")
)
_PARENT = aliased(Resource, name="parent")
_ASSET = (
    select(Resource)
    .join(_PARENT, _PARENT.id == Resource.parent_id)
    .where(
        _IN_ORG,
        Resource.slug == bindparam("asset"),
        _PARENT.kind == ResourceKind.PROJECT.value,
        _PARENT.slug == bindparam("project"),
    )
)
# Each form of address, as one statement binding "org" and the address's slugs.
RESOURCE_BY_ADDRESS = {"org": _ORG_RESOURCE, "project": _PROJECT, "asset": _ASSET}
