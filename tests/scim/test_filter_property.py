"""Property: the SQL translation of a filter selects exactly what scim2-models' match selects."""

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from scim2_models import SCIMException, ScimFilter

from rbac.models import User
from scim.mapping import ScimUser
from web.db import get_engine

EXAMPLES = int(os.environ.get("ROLECALL_FILTER_EXAMPLES", "300"))
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

# A small vocabulary, with case and accent variants, so that generated filters often match.
WORDS = ["alice", "Alice", "ALICE", "bob", "Bøb", "b_o%b", "carol", "zoë", "Zoë", "", "5"]
EMAILS = ["alice@example.com", "Alice@Example.com", "bob@example.org", "zoe@exämple.com"]
words = st.sampled_from(WORDS)
maybe = lambda strategy: st.none() | strategy  # noqa: E731 (a one-line strategy helper)

email = st.fixed_dictionaries(
    {"value": st.sampled_from(EMAILS)},
    optional={"type": st.sampled_from(["work", "home", "Work"]), "primary": st.booleans()},
)
phone = st.fixed_dictionaries(
    {"value": words}, optional={"type": st.sampled_from(["work", "home"])}
)
user = st.fixed_dictionaries(
    {"active": st.booleans()},
    optional={
        "displayName": words,
        "externalId": words,
        "title": words,
        "nickName": words,
        "name": st.fixed_dictionaries({}, optional={"familyName": words, "givenName": words}),
        "emails": st.lists(email, max_size=2).filter(
            lambda emails: sum(e.get("primary", False) for e in emails) <= 1
        ),
        "phoneNumbers": st.lists(phone, max_size=2),
        ENTERPRISE: st.fixed_dictionaries({}, optional={"department": words}),
    },
)

STRING_ATTRIBUTES = [
    "userName",
    "displayName",
    "externalId",
    "title",
    "nickName",
    "name.familyName",
    "emails.value",
    "emails.type",
    "phoneNumbers.value",
    "phoneNumbers.type",
    f"{ENTERPRISE}:department",
]
PRESENT_ATTRIBUTES = [*STRING_ATTRIBUTES, "emails", "phoneNumbers", "name", "emails.primary"]


def _quote(value: str) -> str:
    return ScimFilter.quote(value)


comparison = st.builds(
    lambda attribute, op, value: f"{attribute} {op} {_quote(value)}",
    st.sampled_from(STRING_ATTRIBUTES),
    st.sampled_from(["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"]),
    words | st.sampled_from(EMAILS),
)
boolean = st.builds(
    lambda attribute, op, value: f"{attribute} {op} {str(value).lower()}",
    st.sampled_from(["active", "emails.primary"]),
    st.sampled_from(["eq", "ne"]),
    st.booleans(),
)
present = st.builds(lambda attribute: f"{attribute} pr", st.sampled_from(PRESENT_ATTRIBUTES))
value_path = st.builds(
    lambda attribute, inner: f"{attribute}[{inner}]",
    st.sampled_from(["emails", "phoneNumbers"]),
    st.builds(
        lambda sub, op, value: f"{sub} {op} {_quote(value)}",
        st.sampled_from(["value", "type"]),
        st.sampled_from(["eq", "ne", "co", "sw"]),
        words | st.sampled_from([*EMAILS, "work"]),
    ),
)
atom = comparison | boolean | present | value_path
filters = st.recursive(
    atom,
    lambda inner: (
        st.builds(lambda a, b: f"({a}) and ({b})", inner, inner)
        | st.builds(lambda a, b: f"({a}) or ({b})", inner, inner)
        | st.builds(lambda a: f"not ({a})", inner)
    ),
    max_leaves=4,
)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    users=st.lists(user, min_size=1, max_size=6),
    scim_filters=st.lists(filters, min_size=1, max_size=8),
)
def test_sql_filter_equals_in_memory_match(app, scim, users, scim_filters):
    """For generated users and filters, GET /Users?filter= returns exactly the matching users."""
    # The fixtures are shared by every example (one directory); each example starts with no user.
    with app.app_context(), get_engine().begin() as connection:
        connection.execute(User.__table__.delete())

    resources = []
    for number, attributes in enumerate(users):
        body = {
            "schemas": [ScimUser.__schema__, ENTERPRISE],
            "userName": f"u{number}-{WORDS[number]}",
        }
        body.update(attributes)
        response = scim.post("/Users", body)
        assert response.status_code == 201, response.get_json()
        resources.append(ScimUser.model_validate(response.get_json()))

    for text in scim_filters:
        listed = scim.get("/Users", query_string={"filter": text, "count": 100})
        try:
            bound = ScimFilter[ScimUser](text)
        except (SCIMException, ValidationError, ValueError):
            # A filter scim2-models refuses (say, a non-email compared with emails.value) is
            # refused by the server too.
            assert listed.status_code == 400, (text, listed.get_json())
            assert listed.get_json()["scimType"] == "invalidFilter"
            continue
        expected = {r.id for r in resources if bound.match(r)}
        assert listed.status_code == 200, (text, listed.get_json())
        got = {r["id"] for r in listed.get_json().get("Resources", [])}
        assert got == expected, text
