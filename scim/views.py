"""The /scim/v2 blueprint: thin views that parse, call one operation, commit once, serialise."""

import math
from datetime import timedelta

from flask import Blueprint, current_app, g, request
from scim2_models import (
    Context,
    Error,
    ForbiddenException,
    InvalidValueException,
    Meta,
    NotFoundException,
    PatchOp,
    PreconditionFailedException,
    ResourceType,
    ResponseParameters,
    Schema,
    SearchRequest,
)
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from rbac import models, provisioning
from rbac.changes import apply_changes
from rbac.context import Context as RbacContext
from rbac.context import directory_actor
from rbac.db import utcnow
from rbac.journal import requests_since
from rbac.tenancy import authenticate_token
from scim import discovery, quirks
from scim.errors import SCIM_MEDIA_TYPE, error_response, init_error_handlers, unauthorized
from scim.group_patch import apply_group_patch
from scim.input import (
    check_filter_text,
    check_filter_tree,
    check_patch_document,
    read_json_object,
)
from scim.journal import init_journal, note_tolerance
from scim.listing import Listing, list_response, search_page
from scim.mapping import (
    GROUP_SCHEMA,
    USER_SCHEMA,
    ScimGroup,
    ScimUser,
    etag,
    group_fields,
    group_members,
    to_scim_group,
    to_scim_user,
    user_fields,
)
from web.db import get_catalog, get_session
from web.request_body import read_body
from web.urls import external_url

bp = Blueprint("scim", __name__, url_prefix="/scim/v2")
# Parametrized once for the life of the process (see scim.listing.list_response).
USER_SEARCH = SearchRequest[ScimUser]
GROUP_SEARCH = SearchRequest[ScimGroup]
ANY_SEARCH = SearchRequest[ScimUser | ScimGroup]
USER_PATCH = PatchOp[ScimUser]
GROUP_PATCH = PatchOp[ScimGroup]
RATE_WINDOW = timedelta(minutes=1)
init_error_handlers(bp, bp.record_once)
init_journal(bp)


@bp.before_request
def refuse_nul_characters():
    """NUL cannot be stored or compared (PostgreSQL refuses it): a 400, not a 500."""
    if "\x00" in request.path or any("\x00" in value for value in request.args.values()):
        raise InvalidValueException(detail="NUL characters are not allowed")


@bp.before_request
def authenticate():
    """Resolve the bearer token to its directory; everything below is scoped to it."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return unauthorized("a bearer token is required")
    session = get_session()
    live = authenticate_token(session, token.strip())
    if live is None:
        return unauthorized("the bearer token is not valid")
    directory = live.directory
    if session.dirty:  # last_used_at (once a minute), apart from the request's own transaction
        session.commit()
    g.directory, g.directory_id, g.token_id = directory, directory.id, live.id
    g.policy = quirks.policy_for(directory.provider)
    if directory.disabled_at is not None:
        raise ForbiddenException(detail=f"directory {directory.name!r} is disabled by an admin")
    if limit := current_app.config["SCIM_RATE_LIMIT_PER_MINUTE"]:
        return _throttle(session, directory, limit)
    return None


def _throttle(session, directory, limit: int):
    """Answer 429 with Retry-After once a directory sent `limit` requests in the last minute.

    The count is the journal's, so every worker on every host shares it; requests answered at
    the same moment may overshoot the limit by the number of workers.
    """
    now = utcnow()
    count, oldest = requests_since(session, directory.id, now - RATE_WINDOW)
    if count < limit:
        return None
    retry_after = max(1, math.ceil((oldest + RATE_WINDOW - now).total_seconds()))
    detail = (
        f"directory {directory.name!r} sent {count} requests in the last minute (limit {limit})"
    )
    return error_response(Error(status=429, detail=detail), {"Retry-After": str(retry_after)})


@bp.after_request
def scim_media_type(response):
    """Answer application/scim+json, as RFC 7644 §3.1 asks (and no content type with no content)."""
    if response.status_code in (204, 304):
        response.headers.pop("Content-Type", None)
    elif response.mimetype == "application/json":
        response.mimetype = SCIM_MEDIA_TYPE
    return response


# -- Users ---------------------------------------------------------------------------------


# strict_slashes=False: Microsoft's SCIM reference code lists users at /Users/?filter=...
@bp.get("/Users", strict_slashes=False)
def list_users():
    """Return one page of the directory's users, filtered and sorted in SQL."""
    search = _search_request(USER_SEARCH, request.args.to_dict())
    return _search([USERS], search)


@bp.post("/Users/.search")
def search_users():
    """POST form of list_users (RFC 7644 §3.4.3)."""
    search = _search_request(USER_SEARCH, _read_json())
    return _search([USERS], search)


@bp.post("/Users")
def create_user():
    """Provision a user in the token's directory."""
    params = _response_parameters()
    scim_user = _validate(ScimUser, _read_resource(), Context.RESOURCE_CREATION_REQUEST)
    user, changes = provisioning.create_user(get_session(), g.directory, user_fields(scim_user))
    _commit(changes)
    return _resource(to_scim_user(user), Context.RESOURCE_CREATION_RESPONSE, params, 201, user)


@bp.get("/Users/<user_id>")
def get_user(user_id):
    """Return one user."""
    user = _get_user(user_id)
    if _not_modified(user):
        return "", 304, {"ETag": etag(user)}
    return _resource(
        to_scim_user(user), Context.RESOURCE_QUERY_RESPONSE, _response_parameters(), 200, user
    )


@bp.put("/Users/<user_id>")
def replace_user(user_id):
    """Replace a user with the representation sent."""
    params = _response_parameters()
    user = _get_user(user_id)
    replacement = _validate(ScimUser, _read_resource(), Context.RESOURCE_REPLACEMENT_REQUEST)
    replacement.replace(to_scim_user(user))
    _commit(provisioning.replace_user(get_session(), user, user_fields(replacement)))
    return _resource(to_scim_user(user), Context.RESOURCE_REPLACEMENT_RESPONSE, params, 200, user)


@bp.patch("/Users/<user_id>")
def patch_user(user_id):
    """Apply a PatchOp to a user."""
    params = _response_parameters()
    user = _get_user(user_id)
    patch = _validate_patch(USER_PATCH, _read_patch())
    scim_user = to_scim_user(user)
    if patch.patch(scim_user, scim_policy=g.policy):
        _commit(provisioning.replace_user(get_session(), user, user_fields(scim_user)))
    return _resource(to_scim_user(user), Context.RESOURCE_PATCH_RESPONSE, params, 200, user)


@bp.delete("/Users/<user_id>")
def delete_user(user_id):
    """Delete a user and its memberships; its userName becomes free again."""
    _commit(provisioning.delete_user(get_session(), _get_user(user_id)))
    return "", 204


# -- Groups --------------------------------------------------------------------------------


@bp.get("/Groups", strict_slashes=False)
def list_groups():
    """Return one page of the directory's groups, filtered and sorted in SQL."""
    search = _search_request(GROUP_SEARCH, request.args.to_dict())
    return _search([GROUPS], search)


@bp.post("/Groups/.search")
def search_groups():
    """POST form of list_groups (RFC 7644 §3.4.3)."""
    search = _search_request(GROUP_SEARCH, _read_json())
    return _search([GROUPS], search)


@bp.post("/Groups")
def create_group():
    """Provision a group, with its first members, in the token's directory."""
    params = _response_parameters()
    scim_group = _validate(ScimGroup, _read_resource(), Context.RESOURCE_CREATION_REQUEST)
    session = get_session()
    group, changes = provisioning.create_group(
        session, g.directory, group_fields(scim_group), group_members(scim_group)
    )
    _commit(changes)
    return _group_resource(group, Context.RESOURCE_CREATION_RESPONSE, params, 201)


@bp.get("/Groups/<group_id>")
def get_group(group_id):
    """Return one group; excludedAttributes=members never loads its members."""
    group = _get_group(group_id)
    if _not_modified(group):
        return "", 304, {"ETag": etag(group)}
    return _group_resource(group, Context.RESOURCE_QUERY_RESPONSE, _response_parameters(), 200)


@bp.put("/Groups/<group_id>")
def replace_group(group_id):
    """Replace a group, its members included (by set arithmetic on membership rows)."""
    params = _response_parameters()
    group = _get_group(group_id)
    replacement = _validate(ScimGroup, _read_resource(), Context.RESOURCE_REPLACEMENT_REQUEST)
    replacement.replace(to_scim_group(group))
    _commit(
        provisioning.replace_group(
            get_session(), group, group_fields(replacement), group_members(replacement)
        )
    )
    return _group_resource(group, Context.RESOURCE_REPLACEMENT_RESPONSE, params, 200)


@bp.patch("/Groups/<group_id>")
def patch_group(group_id):
    """Apply a PatchOp to a group; membership changes are row deltas and may answer 204."""
    params = _response_parameters()
    group = _get_group(group_id)
    patch = _validate_patch(GROUP_PATCH, _read_patch())
    changes, touched_members = apply_group_patch(
        get_session(), group, patch, g.policy, note_tolerance
    )
    _commit(changes)
    if touched_members and not (params.attributes or params.excluded_attributes):
        # RFC 7644 §3.5.2 allows 204; a full answer would list every member of a large group.
        return "", 204
    return _group_resource(group, Context.RESOURCE_PATCH_RESPONSE, params, 200)


@bp.delete("/Groups/<group_id>")
def delete_group(group_id):
    """Delete a group and its memberships."""
    _commit(provisioning.delete_group(get_session(), _get_group(group_id)))
    return "", 204


# -- Discovery -----------------------------------------------------------------------------


@bp.get("/ServiceProviderConfig")
def get_service_provider_config():
    """Return what this server supports."""
    config = discovery.service_provider_config(current_app.config["SCIM_MAX_PAGE_SIZE"])
    config.meta = Meta(
        resource_type="ServiceProviderConfig",
        location=external_url("scim.get_service_provider_config"),
    )
    return config.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)


@bp.get("/ResourceTypes")
def list_resource_types():
    """Return every resource type served."""
    return _listed(ResourceType, [_located_resource_type(r) for r in discovery.resource_types()])


@bp.get("/ResourceTypes/<resource_type_id>")
def get_resource_type(resource_type_id):
    """Return one resource type by id."""
    for resource_type in discovery.resource_types():
        if resource_type.id == resource_type_id:
            return _located_resource_type(resource_type).model_dump(
                scim_ctx=Context.RESOURCE_QUERY_RESPONSE
            )
    raise NotFoundException(detail=f"no resource type {resource_type_id!r}")


@bp.get("/Schemas")
def list_schemas():
    """Return every schema served."""
    return _listed(Schema, [_located_schema(s) for s in discovery.schemas()])


@bp.get("/Schemas/<schema_id>")
def get_schema(schema_id):
    """Return one schema by its URN."""
    for schema in discovery.schemas():
        if schema.id == schema_id:
            return _located_schema(schema).model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    raise NotFoundException(detail=f"no schema {schema_id!r}")


@bp.post("/.search")
def search_all_types():
    """Search Users and Groups at once (RFC 7644 §3.4.3): users first, then groups."""
    return _search([USERS, GROUPS], _search_request(ANY_SEARCH, _read_json()))


@bp.route("/Me", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def me():
    """A provisioning client has no self: /Me is not implemented."""
    return _not_implemented("/Me is not implemented: a provisioning client has no self")


@bp.post("/Bulk")
def bulk():
    """Bulk is advertised as unsupported."""
    return _not_implemented("/Bulk is not supported (see ServiceProviderConfig)")


# -- helpers -------------------------------------------------------------------------------


def _commit(changes: list) -> None:
    """Hand the directory's changes to the RBAC engine's one door, then commit once."""
    session = get_session()
    ctx = RbacContext(
        session,
        get_catalog(),
        g.directory.organization,
        directory_actor(g.directory.name, g.token_id, g.correlation_id),
    )
    apply_changes(ctx, changes)
    session.commit()


def _read_resource() -> dict:
    """Read a User or Group body, absorbing the directory's IdP quirks."""
    return quirks.absorb_resource(g.directory.provider, _read_json(), note_tolerance, _user_url)


def _read_patch() -> dict:
    """Read a PatchOp body within its bounds, absorbing the directory's IdP quirks."""
    payload = _read_json()
    check_patch_document(payload)
    return quirks.absorb_patch(g.directory.provider, payload, note_tolerance, _user_url)


def _user_url(user_id: str) -> str:
    return external_url("scim.get_user", user_id=user_id)


def _read_json() -> dict:
    """Parse the body as JSON whatever its Content-Type (IdPs send scim+json or plain json)."""
    return read_json_object(read_body())


def _validate(model, payload: dict, context: Context):
    return model.model_validate(payload, scim_ctx=context, scim_policy=g.policy)


def _response_parameters() -> ResponseParameters:
    return ResponseParameters.model_validate(request.args.to_dict())


def _search_request(model, payload: dict):
    if isinstance(payload.get("filter"), str):
        check_filter_text(payload["filter"])
        payload["filter"] = quirks.absorb_filter(
            g.directory.provider, payload["filter"], note_tolerance
        )
    search = model.model_validate(payload, scim_ctx=Context.SEARCH_REQUEST)
    if search.filter is not None:
        check_filter_tree(search.filter.ast)
    return search


def _validate_patch(model, payload: dict):
    patch = _validate(model, payload, Context.RESOURCE_PATCH_REQUEST)
    for operation in patch.operations or ():
        if operation.path is not None and operation.path.value_filter is not None:
            check_filter_tree(operation.path.value_filter)
    return patch


def _get_user(user_id: str) -> models.User:
    if request.method == "GET":
        return _get(models.User, user_id)
    # A change reads the user to rewrite it whole: the row is held from that read to commit,
    # or of two changes at once (Okta sends a deactivation beside profile updates) the later
    # would write back the row as it was before the earlier, undoing it. It compares and
    # rewrites the emails too: loaded with the user, in one statement.
    return _get(models.User, user_id, joinedload(models.User.emails), hold=True)


def _get_group(group_id: str) -> models.Group:
    return _get(models.Group, group_id)


def _get(row_model, resource_id: str, *options, hold: bool = False):
    """Load a resource of the token's directory; on writes, honour If-Match (RFC 7644 §3.14).

    `hold` keeps other writers off the row from this read to commit.
    """
    session = get_session()
    where = (row_model.id == resource_id, row_model.directory_id == g.directory.id)
    query = select(row_model).where(*where).options(*options)
    if_match = request.headers.get("If-Match") if request.method != "GET" else None
    if if_match or hold:
        # Lock the row, so that the version compared and the row read are the ones changed.
        # NO KEY UPDATE: a membership insert's KEY SHARE on a user does not block it.
        query = query.with_for_update(of=row_model, key_share=not if_match)
        if session.get_bind().dialect.name == "sqlite":
            # SQLite ignores FOR UPDATE and has one writer at a time: a write that changes
            # nothing takes that lock first, and the read that follows is current and stays so.
            table = row_model.__table__
            session.execute(update(table).where(*where).values(id=table.c.id))
    row = session.scalar(query)
    if row is None:
        raise NotFoundException(detail=f"no {row_model.__name__.lower()} {resource_id!r}")
    if if_match and not _etag_matches(if_match, row):
        raise PreconditionFailedException(
            detail=f"the {row_model.__name__.lower()} has changed: its version is {etag(row)}"
        )
    return row


def _etag_matches(header: str, row) -> bool:
    """Whether an If-Match/If-None-Match header names the row's current version (or is *)."""
    current = etag(row).removeprefix("W/")
    tags = [tag.strip().removeprefix("W/") for tag in header.split(",")]
    return "*" in tags or current in tags


def _not_modified(row) -> bool:
    if_none_match = request.headers.get("If-None-Match")
    return bool(if_none_match) and _etag_matches(if_none_match, row)


def _wants_members(params: ResponseParameters) -> bool:
    """Whether a response asked with these parameters shows members (which then get loaded)."""

    def names_members(paths) -> bool:
        return any(path.parts[0].lower() == "members" for path in paths or ())

    if params.attributes:
        return names_members(params.attributes)
    return not names_members(params.excluded_attributes)


def _resource(resource, context: Context, params: ResponseParameters, status: int, row):
    body = resource.model_dump(scim_ctx=context, response_parameters=params)
    headers = {"ETag": etag(row)}
    if status == 201:
        headers["Location"] = resource.meta.location
    return body, status, headers


def _group_resource(group: models.Group, context: Context, params: ResponseParameters, status):
    members = (
        provisioning.list_members(get_session(), [group.id])[group.id]
        if _wants_members(params)
        else None
    )
    return _resource(to_scim_group(group, members), context, params, status, group)


def _users(rows, params):
    return [to_scim_user(row) for row in rows]


def _groups(rows, params):
    """Build SCIM groups, loading members (in one query) only when the response shows them."""
    if not rows or not _wants_members(params):
        return [to_scim_group(row) for row in rows]
    by_group = provisioning.list_members(get_session(), [row.id for row in rows])
    return [to_scim_group(row, by_group[row.id]) for row in rows]


USERS = Listing(models.User, USER_SCHEMA, ScimUser, _users)
GROUPS = Listing(models.Group, GROUP_SCHEMA, ScimGroup, _groups)


def _search(listings, search):
    return search_page(
        get_session(),
        g.directory.id,
        listings,
        search,
        default_count=current_app.config["SCIM_DEFAULT_PAGE_SIZE"],
        max_count=current_app.config["SCIM_MAX_PAGE_SIZE"],
    )


def _listed(model, resources):
    return list_response(model)(
        total_results=len(resources),
        start_index=1,
        items_per_page=len(resources),
        resources=resources,
    ).model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)


def _located_resource_type(resource_type: ResourceType) -> ResourceType:
    resource_type.meta = Meta(
        resource_type="ResourceType",
        location=external_url("scim.get_resource_type", resource_type_id=resource_type.id),
    )
    return resource_type


def _located_schema(schema: Schema) -> Schema:
    schema.meta = Meta(
        resource_type="Schema",
        location=external_url("scim.get_schema", schema_id=schema.id),
    )
    return schema


def _not_implemented(detail: str):
    return error_response(Error(status=501, detail=detail))
