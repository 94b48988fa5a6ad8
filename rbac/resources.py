"""Resources of an organization: the org itself, projects, assets; their addresses and lookups.

An address is `org`, `project:PROJECT` or `asset:PROJECT/ASSET`. Creating projects and assets
is an admin operation (`rbac.admin.resources`).
"""

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from rbac.catalog import Scope
from rbac.errors import InvalidValue, NotFound
from rbac.evaluation import ResourceKind, ResourceRef
from rbac.models import Organization, Resource

ASSET_KINDS = tuple(k.value for k in ResourceKind if k.scope == Scope.ASSET)
# Slugs name resources in addresses (project:SLUG, asset:PROJECT/SLUG): no ':' or '/'.
SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def org_resource(session: Session, org: Organization) -> Resource:
    """Return the resource standing for the organization itself, creating it if missing."""
    resource = session.scalar(
        select(Resource).where(
            Resource.organization_id == org.id, Resource.kind == ResourceKind.ORGANIZATION.value
        )
    )
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


def find_resource(session: Session, org: Organization, address: str) -> Resource:
    """Resolve org, project:PROJECT or asset:PROJECT/ASSET; raise NotFound or InvalidValue."""
    kind, _, rest = address.partition(":")
    if address == "org":
        return org_resource(session, org)
    if kind == "project" and rest and "/" not in rest:
        return _child(session, org, org_resource(session, org).id, rest, "project")
    if kind == "asset" and rest.count("/") == 1:
        project_slug, asset_slug = rest.split("/")
        project = _child(session, org, org_resource(session, org).id, project_slug, "project")
        return _child(session, org, project.id, asset_slug, "asset")
    raise InvalidValue(f"{address!r} is not org, project:PROJECT or asset:PROJECT/ASSET")


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


def _child(session, org, parent_id, slug, what) -> Resource:
    found = session.scalar(
        select(Resource).where(
            Resource.organization_id == org.id,
            Resource.parent_id == parent_id,
            Resource.slug == slug,
        )
    )
    if found is None:
        raise NotFound(f"no {what} {slug!r} in organization {org.slug!r}")
    return found
