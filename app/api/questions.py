"""/api/v1 routes that ask the engine: check, explain, and what a group grants.

Any key may ask; `check` is a POST that only reads (the boundary gives it a read session).
"""

from app.api.boundary import (
    QUERY,
    READ_ERRORS,
    WRITE_ERRORS,
    ApiError,
    ItemError,
    bp,
    json_body,
    read_context,
)
from app.api.schemas.questions import (
    MAX_CHECKS,
    CheckIn,
    CheckListOut,
    CheckOut,
    ExplainOut,
    ExplainQuery,
    GroupGrantsOut,
)
from rbac import queries
from rbac.errors import DomainError
from rbac.lookups import find_group, find_user
from rbac.resources import find_resource

_CHECK_BODY = {
    "oneOf": [
        CheckIn,
        {"type": "array", "items": CheckIn, "minItems": 1, "maxItems": MAX_CHECKS},
    ]
}
_CHECK_ANSWER = {"oneOf": [CheckOut, CheckListOut]}
# Built once: check is the hot route, and building a schema costs as much as using it.
_CHECK_IN, _CHECK_LIST_IN = CheckIn(), CheckIn(many=True)
_CHECK_OUT, _CHECK_LIST_OUT = CheckOut(), CheckListOut()


@bp.route("/check", methods=["POST"])
@bp.doc(
    requestBody={"required": True, "content": {"application/json": {"schema": _CHECK_BODY}}},
    responses={
        "200": {
            "description": "a CheckOut for one question; CheckListOut, in order, for a list",
            "content": {"application/json": {"schema": _CHECK_ANSWER}},
        },
        "400": {"$ref": "#/components/responses/BAD_REQUEST"},
        "404": {"$ref": "#/components/responses/NOT_FOUND"},
        "422": {"$ref": "#/components/responses/UNPROCESSABLE_ENTITY"},
    },
)
@bp.alt_response(401, response=READ_ERRORS[401])
def check():
    """May a user use a permission on a resource? One question, or a list of up to 100.

    An unknown user or resource is a 404 (another organization's too); an unknown permission,
    a malformed resource address or a userName held by several users is a 422. In a list, the
    first failing item fails the request; `details.index` names it.
    """
    body = json_body()
    if isinstance(body, list):
        questions = _CHECK_LIST_IN.load(body) if len(body) <= MAX_CHECKS else None
        if not body or questions is None:
            message = f"a list of checks holds 1 to {MAX_CHECKS} questions"
            raise ApiError(422, "invalid_body", message, {"_schema": [message]})
        results = []
        for index, question in enumerate(questions):
            try:
                results.append(_decide(question))
            except DomainError as error:
                raise ItemError(index, error) from error
        return _CHECK_LIST_OUT.dump({"results": results})
    if not isinstance(body, dict):
        message = "the body is a check object or a list of them"
        raise ApiError(422, "invalid_body", message, {"_schema": [message]})
    return _CHECK_OUT.dump(_decide(_CHECK_IN.load(body)))


def _decide(question: dict) -> queries.Decision:
    ctx = read_context()
    user, permission, address = question["user"], question["permission"], question["resource"]
    return queries.check_named(ctx.session, ctx.catalog, ctx.org, user, permission, address)


@bp.route("/explain", methods=["GET"])
@bp.arguments(ExplainQuery, **QUERY)
@bp.response(200, ExplainOut)
@bp.alt_response(401, response=READ_ERRORS[401])
@bp.alt_response(404, response=READ_ERRORS[404])
@bp.alt_response(422, response=WRITE_ERRORS[422])
def explain(query):
    """Every source of a user's role on a resource, the winner, and the workforce rule.

    The same document as `rolecall explain --json`.
    """
    ctx = read_context()
    user = find_user(ctx.session, ctx.org, query["user"])
    resource = find_resource(ctx.session, ctx.org, query["resource"])
    return queries.explain_document(ctx, user, resource)


@bp.route("/groups/<group_id>/grants", methods=["GET"])
@bp.response(200, GroupGrantsOut)
@bp.alt_response(401, response=READ_ERRORS[401])
@bp.alt_response(404, response=READ_ERRORS[404])
def group_grants(group_id):
    """Everything a group grants (its own and its parent groups' roles) and to whom.

    The group is named by its id (a displayName or local slug works too, when unique).
    """
    ctx = read_context()
    return queries.explain_group(ctx, find_group(ctx.session, ctx.org, group_id))
