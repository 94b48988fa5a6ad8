"""Fuzz a live multi-worker gunicorn with hostile SCIM requests: no 5xx; a refusal changes nothing.

Every generated request (bodies for POST and PUT, PatchOps, filters from the RFC 7644 §3.4.2.2
grammar, paging, sorting and attribute parameters, odd headers) goes over real HTTP to an Okta
and an Entra directory. Each must be answered within TIMEOUT seconds and below 500; a 4xx must be
a SCIM Error whose status is the HTTP status, and must leave the database as it was.

`make test` runs EXAMPLES requests with a fixed seed (derandomized: the same requests every run,
so CI is never flaky); `make fuzz` sets ROLECALL_FUZZ_EXAMPLES and runs with a random seed (set
ROLECALL_FUZZ_SEED to replay one). Resources are referred to by placeholders ("ZqU3qZ": the
fourth user of the pool) resolved when the request is sent, so that ids, userNames and tokens in
generated paths, filters and bodies often name live resources.
"""

import json
import os
import random
import re
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from urllib.parse import quote, urlsplit

import pytest
import requests
from hypothesis import example, given, seed, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from rbac.models import (
    EffectiveAccess,
    Event,
    Grant,
    Group,
    GroupAssignment,
    GroupChild,
    GroupMembership,
    Provider,
    User,
    UserEmail,
)
from tests import servers
from tests.conftest import GROUP_SCHEMA, PATCH_SCHEMA, SCIM_JSON, USER_SCHEMA, make_directory
from web.db import get_engine

LONG_RUN = "ROLECALL_FUZZ_EXAMPLES" in os.environ
EXAMPLES = int(os.environ.get("ROLECALL_FUZZ_EXAMPLES", "500"))
SEED = int(os.environ.get("ROLECALL_FUZZ_SEED") or random.randrange(2**32))
TIMEOUT = 10  # seconds for one answer: anything slower is a failure
MIB = 1024 * 1024
# gunicorn answers a request line above 4094 bytes itself (414, limit_request_line), in HTML,
# before the app sees it: longer list queries go as POST .search bodies, others are dropped.
# The margin leaves room for placeholders, which grow into 36-character ids when resolved.
MAX_URL = 3000

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ENTRA_GROUP = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
SEARCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
NOT_IMPLEMENTED = {"/scim/v2/Me", "/scim/v2/Bulk"}

# -- placeholders ----------------------------------------------------------------------------

# Zq<kind><digit>qZ: U/G a user/group of the request's directory, X/Y of the other directory,
# D a deleted id, N/M a userName/displayName of the pool, T/W the token of this/the other one.
PLACEHOLDER = re.compile(r"Zq([UGXYDNMTW])(\d)qZ")
# Placeholders are replaced in URLs and JSON texts alike: only names that need no escaping in
# either (nor grow a URL much) stand in for N and M.
SAFE_NAME = re.compile(r"[A-Za-z0-9@._-]{1,100}")


def ref(kind: str) -> st.SearchStrategy[str]:
    """A placeholder for a live resource (or token) of this kind, resolved when sent."""
    return st.integers(0, 9).map(lambda n: f"Zq{kind}{n}qZ")


def weighted(*choices: tuple[int, st.SearchStrategy]) -> st.SearchStrategy:
    """One of the strategies, each drawn about as often as its weight says."""
    # st.one_of would draw a strategy repeated in its arguments no more often than once.
    strategies = [strategy for _, strategy in choices]
    indices = [index for index, (weight, _) in enumerate(choices) for _ in range(weight)]
    return st.sampled_from(indices).flatmap(strategies.__getitem__)


def just(*values) -> st.SearchStrategy:
    """One of these values."""
    return st.sampled_from(values)


# -- text and JSON values --------------------------------------------------------------------

ODD_STRINGS = ["", " ", "a", "Zoë", "ZOË", "ß", "İ", "ǅ", "\u212a", "e\u0301", "\u202e", "🙂"]
ODD_STRINGS += ["\x00", "\ud800", "\udfff", "a\ud83d", '"', "\\", "'", "%", "_", "*", "\n"]
ODD_STRINGS += ["[", ")"]
ODD_STRINGS += ["null", "True", "False", "0", "-1", "1e999", "NaN", "urn:x", "a@example.com"]
ODD_STRINGS += ["2024-01-01T00:00:00Z", "2024-02-30T25:61:00Z", 'a" or "1" eq "1']
any_char = st.characters() | st.characters(categories=["Cs"])
# Long strings are built by map: a 5 000-character sampled value would bloat every repr.
# "İ" lowercases, and "\u0958" normalises, into two characters: the key outgrows the value.
LONG_TEXTS = [("x", 257), ("x", 5000), ("İ", 200), ("\u0958", 130)]
long_text = just(*LONG_TEXTS).map(lambda pair: pair[0] * pair[1])
odd_text = just(*ODD_STRINGS) | long_text | st.text(any_char, max_size=12)
# Mostly valid text, so that requests get past validation to the code behind it.
WORDS = ["alice", "Alice", "ZOË", "zoë", "ß", "SS", "İstanbul", "\u212a", "e\u0301", "b_o%b"]
WORDS += ["O'Brien", "a b", "5", "🙂", "R&D"]
plain_text = just(*WORDS) | st.text(
    st.characters(categories=["L", "N", "P", "Zs"]), min_size=1, max_size=12
)
text_value = weighted((4, plain_text), (1, odd_text))
# What HTTP headers can carry (latin-1, no control characters, no leading space).
header_text = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=40
).map(str.lstrip)

user_ref, group_ref = ref("U"), ref("G")
ids = weighted(
    (4, user_ref),
    (3, group_ref),
    (1, ref("X")),
    (1, ref("Y")),
    (1, ref("D")),
    (1, st.uuids().map(str)),
    (1, odd_text),
)
names = weighted(
    (1, ref("N")),
    (1, ref("M")),
    (2, text_value),
    (1, long_text),
    (6, st.uuids().map("fz-{}@example.com".format)),
)

ATTRIBUTE_KEYS = ["schemas", "userName", "displayName", "active", "emails", "members", "name"]
ATTRIBUTE_KEYS += ["id", "meta", "externalId", "groups", "password", ENTERPRISE, "urn:nope:x"]
ATTRIBUTE_KEYS += ["Operations", "value", "$ref"]
keys = just(*ATTRIBUTE_KEYS) | odd_text
# Floats include NaN and ±Infinity, which Python's json writes (and reads) though JSON has none.
scalars = (
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | odd_text | ids | names
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=5,
)
# Offsets up to a minute short of a day, and years 1 to 9999: edges that overflow in UTC.
offsets = st.integers(-1439, 1439).map(lambda minutes: timezone(timedelta(minutes=minutes)))
DATES = ["2024-01-01T00:00:00Z", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"]
DATES += ["2024-02-30T00:00:00Z", "2024-01-01", "2024-01-01T24:00:00Z", "20240101T000000Z"]
DATES += ["2024-01-01T00:00:00.123456789Z", "2024-01-01T00:00:00+99:99", "1e10", ""]
dates = weighted(
    (1, just(*DATES)),
    (2, st.datetimes(timezones=offsets | st.none()).map(datetime.isoformat)),
)
booleanish = just(True, False, "True", "False", "true", "FALSE", "yes", "", 0, 1, None)


@st.composite
def mutated(draw, documents):
    """A document with up to two keys dropped, or set to any JSON value."""
    document = dict(draw(documents))
    for _ in range(draw(st.integers(1, 2))):
        if document and draw(st.booleans()):
            key = draw(st.sampled_from(sorted(document)))
        else:
            key = draw(keys)
        if key in document and draw(st.booleans()):
            del document[key]
        else:
            document[key] = draw(json_values)
    return document


def sometimes_mutated(documents):
    """Mostly well-formed documents, some with a key dropped or set to anything."""
    return weighted((3, documents), (1, mutated(documents)))


# -- User and Group bodies -------------------------------------------------------------------

EMAILS = ["a@example.com", "B@Example.COM", "test.user@okta.local", "not-an-email", "@", ""]
DOMAINS = ["example.com", "Example.COM", "okta.local", "exämple.org"]
valid_email = st.builds("{}@{}".format, just("a", "B", "zoë", "x.y", "ZqN0qZ"), just(*DOMAINS))
email = st.fixed_dictionaries(
    {"value": weighted((4, valid_email), (1, just(*EMAILS) | text_value))},
    optional={
        "type": just("work", "home", "other", "Work") | text_value,
        "primary": weighted((4, st.booleans()), (1, booleanish)),
        "display": text_value,
    },
)
manager = (
    ids
    | st.fixed_dictionaries(
        {"value": ids}, optional={"$ref": text_value, "displayName": text_value}
    )
    | st.lists(ids, max_size=2)
)
enterprise = st.fixed_dictionaries(
    {},
    optional={
        "employeeNumber": text_value,
        "department": text_value,
        "manager": manager,
        "costCenter": json_values,
    },
)
meta = st.fixed_dictionaries(
    {},
    optional={
        "version": just('W/"1"', 3, None) | text_value,
        "resourceType": text_value,
        "lastModified": dates,
    },
)
user_document = st.fixed_dictionaries(
    {"schemas": just([USER_SCHEMA], [USER_SCHEMA, ENTERPRISE]), "userName": names},
    optional={
        "externalId": text_value,
        "displayName": text_value,
        "active": booleanish,
        "title": text_value,
        "name": st.fixed_dictionaries(
            {},
            optional={"givenName": text_value, "familyName": text_value, "formatted": text_value},
        ),
        "emails": st.lists(email, max_size=3),
        "phoneNumbers": st.lists(
            st.fixed_dictionaries({"value": text_value}, optional={"type": just("work", "mobile")}),
            max_size=2,
        ),
        "password": text_value,
        # Okta's PUT echoes id, meta and groups.
        "id": ids,
        "meta": meta,
        "groups": st.lists(st.fixed_dictionaries({"value": group_ref}), max_size=2),
        ENTERPRISE: enterprise,
    },
)
odd_member = st.fixed_dictionaries(
    {"value": weighted((4, user_ref), (2, group_ref), (1, ids))},
    optional={
        "display": text_value,
        "type": just("User", "Group", "user", "Robot") | text_value,
        "$ref": text_value,
    },
)
clean_member = st.fixed_dictionaries(
    {"value": weighted((4, user_ref), (1, group_ref))},
    optional={"display": plain_text, "type": just("User", "Group")},
)
member = weighted((3, clean_member), (1, odd_member))
group_document = st.fixed_dictionaries(
    {"schemas": just([GROUP_SCHEMA], [GROUP_SCHEMA, ENTRA_GROUP]), "displayName": names},
    optional={
        "externalId": text_value,
        "members": st.lists(member, max_size=4),
        "id": ids,
        "meta": meta,
    },
)

# -- filters (RFC 7644 §3.4.2.2) -------------------------------------------------------------

FILTER_ATTRIBUTES = ["userName", "USERNAME", "displayName", "externalId", "id", "active", "title"]
FILTER_ATTRIBUTES += ["emails", "emails.value", "emails.type", "emails.primary", "name.givenName"]
FILTER_ATTRIBUTES += ["name.familyName", "meta.created", "meta.lastModified", "meta.resourceType"]
FILTER_ATTRIBUTES += ["meta.version", "members", "members.value", "members.display", "members.type"]
FILTER_ATTRIBUTES += ["groups", "groups.value", "phoneNumbers.value", "password"]
FILTER_ATTRIBUTES += [f"{ENTERPRISE}:department", f"{ENTERPRISE}:manager.value"]
FILTER_ATTRIBUTES += [f"{ENTERPRISE}:manager", f"{USER_SCHEMA}:userName"]
FILTER_ATTRIBUTES += [f"{USER_SCHEMA}:emails.value", f"{GROUP_SCHEMA}:displayName"]
FILTER_ATTRIBUTES += ["urn:nope:x:y", "foo", "name.nope", "emails.nope", "$ref"]
MULTI_VALUED = ["emails", "members", "phoneNumbers", "groups", "addresses", "foo"]
SUB_ATTRIBUTES = ["", ".value", ".type", ".display", ".primary", ".nope", "."]
OPERATORS = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "EQ", "Co"]
LITERALS = ["true", "false", "null", "0", "-1", "1.5", "1e400", "-0", "99999999999999999999"]
LITERALS += ['"2024-01-01T00:00:00Z"', '"2024-13-45T99:99:99Z"', '"yesterday"', "2024-01-01"]
LITERALS += ['""', '"', "'x'", "[]", "{}"]
literal = weighted(
    (3, st.builds(json.dumps, text_value | ids | names)),  # \uXXXX escapes, lone surrogates too
    (1, odd_text.map(lambda text: json.dumps(text, ensure_ascii=False))),
    (2, just(*LITERALS)),
    (1, st.integers(-(2**70), 2**70).map(str)),
    (1, st.floats(allow_nan=False, allow_infinity=False).map(repr)),
)
attribute = just(*FILTER_ATTRIBUTES)
comparison = st.builds("{} {} {}".format, attribute, just(*OPERATORS), literal)
date_comparison = st.builds(
    "{} {} {}".format,
    just("meta.created", "meta.lastModified", "META.LASTMODIFIED"),
    just(*OPERATORS),
    dates.map(json.dumps),
)
present = st.builds("{} pr".format, attribute)
filters = st.recursive(
    weighted((3, comparison), (1, date_comparison), (1, present)),
    lambda inner: (
        st.builds("not ({})".format, inner)
        | st.builds("({})".format, inner)
        | st.builds("{} and {}".format, inner, inner)
        | st.builds("{} or {}".format, inner, inner)
        | st.builds("{}[{}]{}".format, just(*MULTI_VALUED), inner, just(*SUB_ATTRIBUTES))
    ),
    max_leaves=5,
)
FILTER_TOKENS = ["(", ")", "[", "]", '"', "and", "or", "not", "eq", "pr", "gt", "userName"]
FILTER_TOKENS += ["emails", ".", ":", "\\", "urn:", '"a"', "true", "1", "members[value"]
filter_soup = st.lists(just(*FILTER_TOKENS) | odd_text, max_size=8).map(" ".join)
any_filter = weighted((6, filters), (1, filter_soup), (1, st.text(any_char, max_size=20)))


def _many_or(terms: int) -> str:
    """A filter of this many userName comparisons joined by or."""
    return " or ".join(f'userName eq "fz{number}@example.com"' for number in range(terms))


hostile_filter = st.one_of(
    st.integers(900, 1100).map(_many_or),
    just(100, 1000, 10_000).map(lambda n: "(" * n + 'userName eq "a"' + ")" * n),
    just(100, 1000, 10_000).map(lambda n: "not (" * n + "active pr" + ")" * n),
    just(100, 1000).map(lambda n: "emails[" * n + 'value eq "a"' + "]" * n),
    just(10_000, 200_000).map(lambda n: 'userName eq "' + "a" * n + '"'),
)

# -- query parameters ------------------------------------------------------------------------

numberish = weighted(
    (3, st.integers(-(2**65), 2**65).map(str)),
    (3, just("", "0", "-1", "1", "2", "1000", "1001", "abc", "1.5", "1e3", " 5", "0x10", "٣")),
    (1, odd_text),
)
ATTRIBUTE_PARAMETERS = ["members", "emails", 'emails[type eq "work"]', "name.givenName", "meta"]
attribute_names = attribute | just(*ATTRIBUTE_PARAMETERS) | odd_text
attribute_list = st.lists(attribute_names, max_size=3).map(",".join)
SORT_ORDERS = ["ascending", "descending", "DESCENDING", "up", ""]
other_list_parameters = st.fixed_dictionaries(
    {},
    optional={
        "startIndex": numberish,
        "count": numberish,
        "sortBy": attribute | odd_text,
        "sortOrder": just(*SORT_ORDERS) | odd_text,
        "attributes": attribute_list,
        "excludedAttributes": attribute_list,
        "nope": odd_text,
    },
)
# Most lists and searches filter: the filter translation is the biggest attack surface.
list_parameters = weighted(
    (3, st.tuples(st.fixed_dictionaries({"filter": any_filter}), other_list_parameters)),
    (1, st.tuples(st.just({}), other_list_parameters)),
).map(lambda pair: {**pair[0], **pair[1]})
response_parameters = weighted(
    (6, st.just({})),
    (1, st.fixed_dictionaries({"attributes": attribute_list})),
    (1, st.fixed_dictionaries({"excludedAttributes": attribute_list | st.just("members")})),
    (
        1,
        st.fixed_dictionaries({"attributes": attribute_list, "excludedAttributes": attribute_list}),
    ),
)
RAW_QUERIES = ["%", "%zz", "filter=%", "filter", "=", "&&", "filter=%ED%A0%80", "count=%FF"]
RAW_QUERIES += ["filter=%C0%AF", "filter=userName%20eq%20%22%00%22", "attributes=%ED%B0%80"]


def _quote(text: str) -> str:
    """Percent-encode text as UTF-8 for a URL, lone surrogates included (as invalid UTF-8)."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


def _query(parameters: dict) -> str:
    """The query string of these parameters, with its "?" (empty without parameters)."""
    query = "&".join(f"{_quote(k)}={_quote(str(v))}" for k, v in parameters.items())
    return f"?{query}" if query else ""


search_document = st.fixed_dictionaries(
    {"schemas": just([SEARCH_SCHEMA]), "filter": weighted((8, any_filter), (1, json_values))},
    optional={
        "startIndex": st.integers(-(2**65), 2**65) | json_values,
        "count": st.integers(-(2**65), 2**65) | json_values,
        "sortBy": attribute | json_values,
        "sortOrder": just(*SORT_ORDERS) | json_values,
        "attributes": st.lists(attribute_names, max_size=3) | json_values,
        "excludedAttributes": st.lists(attribute_names, max_size=3) | json_values,
    },
)

# -- PATCH (RFC 7644 §3.5.2) -----------------------------------------------------------------

OPS = ["add", "remove", "replace", "Add", "Remove", "Replace", "REPLACE", "delete", "", "move"]
PATCH_PATHS = ["userName", "displayName", "active", "ACTIVE", "externalId", "title", "name"]
PATCH_PATHS += ["name.givenName", "name.nope", "emails", "emails.value", "Emails.Value", "groups"]
PATCH_PATHS += ["emails.primary", "phoneNumbers", "id", "meta", "meta.version", "password"]
PATCH_PATHS += ["manager", "members", "members.value", "members.display", "foo", ENTERPRISE]
PATCH_PATHS += [f"{ENTERPRISE}:manager", f"{ENTERPRISE}:department", f"{ENTERPRISE}:employeeNumber"]
PATCH_PATHS += [f"{USER_SCHEMA}:userName", f"{USER_SCHEMA}:name.givenName", "urn:nope:x"]
PATCH_PATHS += [f"{GROUP_SCHEMA}:displayName", f"{GROUP_SCHEMA}:members"]
# Value filters (RFC 7644 §3.5.2), on live ids through placeholders.
PATCH_PATHS += ['members[value eq "ZqU0qZ"]', 'members[value eq "ZqG1qZ"]']
PATCH_PATHS += ['members[value eq "ZqU1qZ" or value eq "ZqU2qZ"]', 'members[type eq "Group"]']
PATCH_PATHS += ['members[display co "a"]', 'emails[type eq "work"].value', 'emails[type eq "work"]']
PATCH_PATHS += ["emails[primary eq true].type", 'phoneNumbers[type eq "mobile"].value']
PATCH_PATHS += ['addresses[type eq "work"].streetAddress']
PATCH_PATHS += [f'{USER_SCHEMA}:emails[type eq "work"].value']
# Malformed paths.
PATCH_PATHS += ["", "members[", "members]", "[value eq 1]", "..", "emails[type eq]", "urn:"]
PATCH_PATHS += ['emails[type eq "work"', 'members[value eq "x"].', "members[value pr][value pr]"]
patch_path = weighted(
    (6, just(*PATCH_PATHS)),
    (2, st.builds("{}[{}]{}".format, just(*MULTI_VALUED), filters, just(*SUB_ATTRIBUTES))),
    (2, st.builds('members[value eq "{}"]'.format, ids)),
    (1, odd_text),
)
PATHLESS_KEYS = ["active", "displayName", "name.givenName", "emails", "members", "externalId"]
PATHLESS_KEYS += [f"{ENTERPRISE}:employeeNumber", f"{ENTERPRISE}:manager", "userName", "urn:no:x"]
patch_value = weighted(
    (3, json_values),
    (2, booleanish),
    (3, st.lists(member, max_size=3)),
    (2, st.dictionaries(just(*PATHLESS_KEYS) | keys, json_values | booleanish, max_size=3)),
    (1, st.lists(email, max_size=2)),
    (1, manager),
)
member_list = st.lists(member, min_size=1, max_size=3)
# Paths with values of the type they hold, so that operations often get applied.
USER_PATHS = {
    "displayName": text_value,
    "externalId": text_value,
    "title": text_value,
    "active": booleanish,
    "userName": names,
    "name.givenName": text_value,
    "name": st.fixed_dictionaries({}, optional={"givenName": text_value}),
    "emails": st.lists(email, max_size=2),
    'emails[type eq "work"].value': valid_email,
    'emails[type eq "work"]': email,
    "manager": manager,
    f"{ENTERPRISE}:manager": manager,
    f"{ENTERPRISE}:department": text_value,
    f"{USER_SCHEMA}:nickName": text_value,
}
GROUP_PATHS = {
    "displayName": names,
    "externalId": text_value,
    "members": member_list,
    'members[value eq "ZqU0qZ"]': member_list,
    'members[value eq "ZqU1qZ"]': member_list,
    'members[value eq "ZqG0qZ"]': member_list,
    f"{GROUP_SCHEMA}:displayName": names,
}


def typed_operations(paths: dict) -> st.SearchStrategy[dict]:
    """Operations on these paths with values of the type each path holds."""
    return st.sampled_from(sorted(paths)).flatmap(
        lambda path: (
            st.fixed_dictionaries(
                {
                    "op": just("add", "replace", "Add", "Replace"),
                    "path": st.just(path),
                    "value": paths[path],
                }
            )
            | st.fixed_dictionaries({"op": just("remove", "Remove"), "path": st.just(path)})
            # Entra removes members by a value list on the bare path.
            | st.fixed_dictionaries(
                {"op": just("remove", "Remove"), "path": st.just(path), "value": paths[path]}
            )
        )
    )


def pathless_operations(values: dict) -> st.SearchStrategy[dict]:
    """Path-less add and replace: an object of attributes (Entra: dotted and URN keys)."""
    return st.fixed_dictionaries(
        {
            "op": just("add", "replace", "Replace"),
            "value": st.fixed_dictionaries({}, optional=values),
        }
    )


user_pathless = pathless_operations(
    {
        "active": booleanish,
        "displayName": text_value,
        "name.givenName": text_value,
        f"{ENTERPRISE}:employeeNumber": text_value,
        f"{ENTERPRISE}:manager": manager,
        "emails": st.lists(email, max_size=2),
    }
)
group_pathless = pathless_operations(
    {"displayName": names, "externalId": text_value, "members": member_list}
)
any_operation = st.fixed_dictionaries(
    {}, optional={"op": just(*OPS) | json_values, "path": patch_path, "value": patch_value}
)


def patch_documents(typed: dict, pathless) -> st.SearchStrategy[dict]:
    """PatchOp bodies: mostly typed operations, some path-less, some anything at all."""
    operation = weighted(
        (4, typed_operations(typed)), (1, pathless), (2, sometimes_mutated(any_operation))
    )
    return st.fixed_dictionaries(
        {
            "schemas": weighted((9, st.just([PATCH_SCHEMA])), (1, json_values)),
            "Operations": weighted(
                (9, st.lists(operation, min_size=1, max_size=3)),
                (1, st.lists(operation, max_size=0)),
            ),
        }
    )


user_patch = patch_documents(USER_PATHS, user_pathless)
group_patch = patch_documents(GROUP_PATHS, group_pathless)

# -- headers and bodies ----------------------------------------------------------------------

authorization = weighted(
    (20, st.just("Bearer ZqT0qZ")),
    (1, just("bearer ZqT0qZ", "Bearer  ZqT0qZ ", "BEARER ZqT0qZ", "Bearer ZqW0qZ")),
    (1, just(None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token ZqT0qZ", "Bearer x y")),
    (1, st.builds("Bearer {}".format, header_text) | header_text),
)
CONTENT_TYPES = ["application/json; charset=utf-8", "application/scim+json;charset=UTF-8"]
CONTENT_TYPES += ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
CONTENT_TYPES += ["application/xml", "", None, "application/scim+json; charset=latin-1"]
content_type = weighted(
    (8, st.just(SCIM_JSON)), (3, st.just("application/json")), (2, just(*CONTENT_TYPES))
)
ACCEPTS = [SCIM_JSON, "application/json", "text/html", "application/xml", "", "*/*;q=0"]
ETAGS = ["*", 'W/"1"', 'W/"2"', '"1"', 'W/"1", W/"99"', "", ",", "W/", '"']
etag = weighted((8, st.none()), (3, just(*ETAGS)), (1, header_text))
headers = st.fixed_dictionaries(
    {
        "Authorization": authorization,
        "Content-Type": content_type,
        "Accept": weighted((4, st.none()), (1, just(*ACCEPTS) | header_text)),
        "If-Match": etag,
        "If-None-Match": etag,
        "X-Request-Id": weighted((6, st.none()), (1, header_text)),
    }
)
# How a JSON text becomes bytes: mostly UTF-8 (lone surrogates then become invalid UTF-8).
encoding = weighted((12, st.just("utf-8")), (1, just("utf-16", "utf-8-sig", "latin-1")))


@st.composite
def json_text(draw, documents) -> str:
    """A document serialised as JSON, with or without ASCII escapes, now and then truncated."""
    text = json.dumps(draw(documents), ensure_ascii=draw(st.booleans()))
    if draw(weighted((15, st.just(False)), (1, st.just(True)))):
        text = text[: draw(st.integers(0, len(text)))]
    return text


# -- requests --------------------------------------------------------------------------------


@dataclass
class Case:
    """One generated request, with placeholders still in its path, headers and body."""

    kind: str
    directory: str
    method: str
    path: str
    headers: dict[str, str | None]
    body: str | None = None
    encoding: str = "utf-8"
    chunked: bool = False


def _segment(strategy) -> st.SearchStrategy[str]:
    """The strategy's texts, percent-encoded as one path segment."""
    return strategy.map(_quote)


user_id = weighted((8, user_ref), (1, ref("D")), (1, ref("X")), (1, ids))
group_id = weighted((8, group_ref), (1, ref("D")), (1, ref("Y")), (1, ids))
resource = weighted(
    (1, st.tuples(st.just("/Users/"), _segment(user_id))),
    (1, st.tuples(st.just("/Groups/"), _segment(group_id))),
)
MISC = ["GET /ServiceProviderConfig", "GET /ResourceTypes", "GET /ResourceTypes/User"]
MISC += ["GET /ResourceTypes/nope", "GET /Schemas", f"GET /Schemas/{USER_SCHEMA}", "GET /Me"]
MISC += ["GET /Schemas/%ED%A0%80", "PATCH /Me", "POST /Bulk", "GET /Bulk", "PATCH /Users"]
MISC += ["DELETE /Groups", "PUT /Users", "POST /Users/ZqU0qZ", "GET /Users/.search", "GET /users"]
MISC += ["GET /Users/ZqU0qZ/extra", "GET ", "GET /", "GET /Nope", "PROPFIND /Users"]
MISC += ["OPTIONS /Groups", "DELETE /Users/"]
HOSTILE_BODIES = ["", "null", "[]", "1", '"x"', "{", '{"schemas":', "{}", "\ufeff{}", "NaN"]
HOSTILE_BODIES += ['{"a": 1, "a": 2}', "\x00", '{"schemas": ["' + USER_SCHEMA + '"], "userName"}']


def _search(scim_filter: str) -> str:
    """A SearchRequest body with this filter."""
    return json.dumps({"schemas": [SEARCH_SCHEMA], "filter": scim_filter})


def _huge(size: int) -> str:
    """A User body of about this many bytes, most of them one long string."""
    head = json.dumps({"schemas": [USER_SCHEMA], "userName": "fz-huge@example.com", "x": ""})
    return head[:-2] + '"' + "a" * max(0, size - len(head)) + '"}'


def _deep(depth: int, form: str) -> str:
    """A JSON body whose arrays or objects nest this deep (form: list, object, user, patch)."""
    if form == "list":
        return "[" * depth + "]" * depth
    if form == "object":
        return '{"a":' * depth + "1" + "}" * depth
    nested = "[" * depth + "]" * depth
    if form == "user":
        return f'{{"schemas": ["{USER_SCHEMA}"], "userName": "fz-deep", "x": {nested}}}'
    operation = f'{{"op": "add", "path": "members", "value": {nested}}}'
    return f'{{"schemas": ["{PATCH_SCHEMA}"], "Operations": [{operation}]}}'


WRITES = ["POST /Users", "POST /Groups", "PUT /Users/ZqU0qZ", "PATCH /Groups/ZqG0qZ"]
WRITES += ["PATCH /Users/ZqU1qZ", "POST /Users/.search", "POST /.search", "PUT /Groups/ZqG1qZ"]


@st.composite
def hostile(draw) -> tuple[str, str, str, str | None]:
    """(kind, method, path, body) of a request built to hurt: huge, deep, long or malformed."""
    form = draw(just("huge", "deep", "filter", "surrogate", "malformed"))
    method, path = draw(just(*WRITES)).split(" ")
    if form == "huge":
        body = _huge(draw(just(MIB - 512, MIB + 1, 3 * MIB)))
    elif form == "deep":
        depth = draw(just(100, 1000, 10_000, 100_000))
        body = _deep(depth, draw(just("list", "object", "user", "patch")))
    elif form == "filter":
        method, path = draw(just(("POST", "/Users/.search"), ("POST", "/Groups/.search")))
        body = _search(draw(hostile_filter))
    elif form == "surrogate":
        surrogate = draw(st.characters(categories=["Cs"]))
        document = {"schemas": [USER_SCHEMA], "userName": f"fz{surrogate}", "displayName": "x"}
        body = json.dumps(document)
        if path.endswith(".search"):
            body = _search(f'userName eq "{surrogate}"')
        elif method == "PATCH":
            op = {"op": "replace", "path": "displayName", "value": surrogate}
            body = json.dumps({"schemas": [PATCH_SCHEMA], "Operations": [op]})
    else:
        body = draw(just(*HOSTILE_BODIES) | st.text(any_char, max_size=20))
    return f"hostile:{form}", method, path, body


@st.composite
def cases(draw) -> Case:
    """One request of any kind, to either directory."""
    directory = draw(just("okta", "entra"))
    kind = draw(
        weighted(
            (5, st.just("list")),
            (4, st.just("search")),
            (2, st.just("get")),
            (3, st.just("create_user")),
            (3, st.just("create_group")),
            (2, st.just("put_user")),
            (2, st.just("put_group")),
            (4, st.just("patch_user")),
            (5, st.just("patch_group")),
            (1, st.just("delete")),
            (1, st.just("misc")),
            (3, st.just("hostile")),
        )
    )
    body, document = None, None
    if kind == "list":
        method = "GET"
        resource_path = draw(just("/Users", "/Groups"))
        parameters = draw(list_parameters)
        query = draw(weighted((12, st.just(_query(parameters))), (1, just(*RAW_QUERIES))))
        path = resource_path + query
        if len(path) > MAX_URL:
            method, path = "POST", f"{resource_path}/.search"
            document = {"schemas": [SEARCH_SCHEMA], **parameters}
    elif kind == "search":
        method = "POST"
        path = draw(just("/Users/.search", "/Groups/.search", "/.search"))
        document = draw(sometimes_mutated(search_document))
    elif kind == "get":
        method = "GET"
        path = "".join(draw(resource)) + _query(draw(response_parameters))
    elif kind in ("create_user", "create_group"):
        method, path = "POST", "/Users" if kind == "create_user" else "/Groups"
        path += _query(draw(response_parameters))
        document = draw(
            sometimes_mutated(user_document if kind == "create_user" else group_document)
        )
    elif kind in ("put_user", "put_group"):
        method = "PUT"
        if kind == "put_user":
            path, document = "/Users/" + draw(_segment(user_id)), user_document
        else:
            path, document = "/Groups/" + draw(_segment(group_id)), group_document
        path += _query(draw(response_parameters))
        document = draw(sometimes_mutated(document))
    elif kind in ("patch_user", "patch_group"):
        method = "PATCH"
        identifier = user_id if kind == "patch_user" else group_id
        path = ("/Users/" if kind == "patch_user" else "/Groups/") + draw(_segment(identifier))
        path += _query(draw(response_parameters))
        document = draw(sometimes_mutated(user_patch if kind == "patch_user" else group_patch))
    elif kind == "delete":
        method, path = "DELETE", "".join(draw(resource))
    elif kind == "misc":
        method, _, path = draw(just(*MISC)).partition(" ")
        if draw(st.booleans()):
            document = draw(json_values)
    else:
        kind, method, path, body = draw(hostile())
    if document is not None:
        body = draw(json_text(st.just(document)))
    if len(path) > MAX_URL:
        path = path.partition("?")[0][:MAX_URL]
    return Case(
        kind=kind,
        directory=directory,
        method=method,
        path=path,
        headers=draw(headers),
        body=body,
        encoding=draw(encoding),
        chunked=body is not None and draw(weighted((10, st.just(False)), (1, st.just(True)))),
    )


# Requests that once got a 5xx, sent first in every run. known: reported before this fuzzer
# existed; found: by this fuzzer.
VALID = {"Authorization": "Bearer ZqT0qZ", "Content-Type": SCIM_JSON, "Accept": None}
VALID |= {"If-Match": None, "If-None-Match": None, "X-Request-Id": None}
_SURROGATE_USER = json.dumps({"schemas": [USER_SCHEMA], "userName": "fz\ud800"})
_SURROGATE_FILTER = _query({"filter": 'userName eq "\\ud800"'})
_NO_OP = json.dumps({"schemas": [PATCH_SCHEMA], "Operations": [{"path": "members[value pr]"}]})
_LATE_DATE_FILTER = _query({"filter": 'meta.lastModified gt "9999-12-31T23:59:59-14:00"'})
_DATE_SUBSTRING_FILTER = _query({"filter": 'meta.created co "2000"'})
_LONG_KEY_USER = json.dumps({"schemas": [USER_SCHEMA], "userName": "İ" * 200})
_LONG_KEY_GROUP = json.dumps({"schemas": [GROUP_SCHEMA], "displayName": "İ" * 200})
REGRESSIONS = [
    Case("known:surrogate", "okta", "POST", "/Users", VALID, _SURROGATE_USER),
    Case("known:surrogate", "entra", "GET", "/Users" + _SURROGATE_FILTER, VALID),
    Case("known:deep", "okta", "POST", "/Users", VALID, "[" * 100_000 + "]" * 100_000),
    Case("known:deep", "entra", "PATCH", "/Groups/ZqG0qZ", VALID, _deep(10_000, "patch")),
    Case("known:huge", "okta", "POST", "/Users", VALID, _huge(3 * MIB)),
    Case("known:huge", "entra", "PUT", "/Users/ZqU0qZ", VALID, _huge(3 * MIB), chunked=True),
    Case("known:many-or", "okta", "POST", "/Users/.search", VALID, _search(_many_or(1000))),
    Case("known:many-or", "entra", "POST", "/Groups/.search", VALID, _search(_many_or(1000))),
    Case("found:no-op", "entra", "PATCH", "/Groups/ZqG0qZ", VALID, _NO_OP),
    Case("found:date-overflow", "okta", "GET", "/Users" + _LATE_DATE_FILTER, VALID),
    Case("found:date-substring", "entra", "GET", "/Groups" + _DATE_SUBSTRING_FILTER, VALID),
    Case("found:long-key", "okta", "POST", "/Users", VALID, _LONG_KEY_USER),
    Case("found:long-key", "entra", "POST", "/Groups", VALID, _LONG_KEY_GROUP),
]


# -- the live server -------------------------------------------------------------------------


def fingerprint(engine) -> tuple:
    """A cheap summary of every table a SCIM request may change.

    Row counts, the sum of versions and the latest modification of users and groups, and the
    last event id: a committed SCIM write changes at least one. The request journal and the
    tokens' last_used_at change on every request and are left out.
    """
    counted = [User, UserEmail, Group, GroupMembership, GroupChild, Event, EffectiveAccess]
    counted += [Grant, GroupAssignment]
    columns = [select(func.count()).select_from(model).scalar_subquery() for model in counted]
    for model in (User, Group):
        columns.append(select(func.coalesce(func.sum(model.version), 0)).scalar_subquery())
        columns.append(select(func.max(model.updated_at)).scalar_subquery())
    columns.append(select(func.max(Event.id)).scalar_subquery())
    with engine.connect() as connection:
        return tuple(connection.execute(select(*columns)).one())


@dataclass
class Pool:
    """The live users and groups of one directory, and ids it deleted."""

    token: str
    users: dict[str, str] = field(default_factory=dict)  # id → userName
    groups: dict[str, str] = field(default_factory=dict)  # id → displayName
    deleted: list[str] = field(default_factory=list)


@dataclass
class Sent:
    """A request as it went over the wire."""

    method: str
    url: str
    headers: dict[str, str | None]
    body: bytes | None
    chunked: bool

    def __str__(self) -> str:
        """The request as a reader needs it to reproduce the case."""
        body = "" if self.body is None else f"\nbody ({len(self.body)} bytes): {self.body[:1500]!r}"
        chunked = " (chunked)" if self.chunked else ""
        shown = {k: v for k, v in self.headers.items() if v is not None}
        return f"{self.method} {self.url[:1500]}{chunked}\nheaders: {shown}{body}"


class Fuzzer:
    """Sends generated cases to the live server and checks every invariant on each answer."""

    def __init__(self, base: str, http: requests.Session, engine, tokens: dict[str, str]):
        self.base = f"{base}/scim/v2"
        self.http = http
        self.engine = engine
        self.pools = {name: Pool(token) for name, token in tokens.items()}
        self.statuses: Counter = Counter()
        self.kinds: Counter = Counter()

    def seed_pool(self, directory: str) -> None:
        """Give a directory six users (emails, enterprise data) and three groups, one nested."""
        users = [
            self.create_user(directory, f"{directory}-user{n}@example.com", active=n != 5)
            for n in range(6)
        ]
        first = self.create_group(directory, "Engineering", [{"value": u} for u in users[:3]])
        members = [{"value": users[3]}, {"value": first, "type": "Group"}]
        self.create_group(directory, "Department", members)
        self.create_group(directory, "Empty", [])

    def create_user(self, directory: str, user_name: str, active: bool = True) -> str:
        """Create a well-formed user outside the fuzzing and add it to the pool."""
        body = {
            "schemas": [USER_SCHEMA, ENTERPRISE],
            "userName": user_name,
            "displayName": user_name.split("@")[0],
            "active": active,
            "name": {"givenName": "Zoë", "familyName": "Ng"},
            "emails": [
                {"value": user_name, "type": "work", "primary": True},
                {"value": f"home.{user_name}", "type": "home"},
            ],
            ENTERPRISE: {"department": "R&D", "employeeNumber": "7"},
        }
        return self._create(directory, "/Users", body)

    def create_group(self, directory: str, name: str, members: list[dict]) -> str:
        """Create a well-formed group outside the fuzzing and add it to the pool."""
        body = {"schemas": [GROUP_SCHEMA], "displayName": name, "members": members}
        return self._create(directory, "/Groups", body)

    def _create(self, directory: str, path: str, body: dict) -> str:
        """POST a body that must be created; remember the resource and return its id."""
        response = self.http.post(
            self.base + path,
            json=body,
            headers={"Authorization": f"Bearer {self.pools[directory].token}"},
            timeout=TIMEOUT,
        )
        assert response.status_code == 201, response.text
        self._remember(directory, response.json())
        return response.json()["id"]

    def _remember(self, directory: str, resource: dict) -> None:
        """Add a user or group the server returned to its directory's pool."""
        pool = self.pools[directory]
        if "userName" in resource:
            pool.users[resource["id"]] = resource["userName"]
        elif "displayName" in resource:
            pool.groups[resource["id"]] = resource["displayName"]

    def replenish(self) -> None:
        """Keep at least four users and two groups in each directory's pool."""
        for directory, pool in self.pools.items():
            while len(pool.users) < 4:
                self.create_user(directory, f"fz-{uuid.uuid4().hex}@example.com")
            while len(pool.groups) < 2:
                self.create_group(directory, f"fz-{uuid.uuid4().hex}", [])

    def resolve(self, text: str, directory: str) -> str:
        """Replace the placeholders of a text by live ids, names and tokens."""
        pool = self.pools[directory]
        other = next(p for name, p in self.pools.items() if name != directory)
        choices = {
            "U": list(pool.users),
            "G": list(pool.groups),
            "X": list(other.users),
            "Y": list(other.groups),
            "D": pool.deleted,
            "N": [name for name in pool.users.values() if SAFE_NAME.fullmatch(name)],
            "M": [name for name in pool.groups.values() if SAFE_NAME.fullmatch(name)],
            "T": [pool.token],
            "W": [other.token],
        }

        def pick(match: re.Match) -> str:
            """The live value a placeholder stands for (a fresh id if there is none)."""
            values = choices[match[1]]
            return values[int(match[2]) % len(values)] if values else str(uuid.uuid4())

        return PLACEHOLDER.sub(pick, text)

    def prepare(self, case: Case) -> Sent:
        """Resolve a case's placeholders and encode its body."""
        headers = {
            name: None if value is None else self.resolve(value, case.directory)
            for name, value in case.headers.items()
        }
        body = None
        if case.body is not None:
            errors = "replace" if case.encoding == "latin-1" else "surrogatepass"
            body = self.resolve(case.body, case.directory).encode(case.encoding, errors)
        url = self.base + self.resolve(case.path, case.directory)
        return Sent(case.method, url, headers, body, case.chunked)

    def run(self, case: Case) -> None:
        """Send one case; check the answer's status, its Error document and the database."""
        sent = self.prepare(case)
        before = fingerprint(self.engine)
        data = iter([sent.body]) if sent.chunked else sent.body
        try:
            response = self.http.request(
                sent.method,
                sent.url,
                headers=sent.headers,
                data=data,
                timeout=TIMEOUT,
                allow_redirects=False,
            )
        except requests.RequestException as error:
            raise AssertionError(f"no answer ({error!r}) to:\n{sent}") from None
        status = response.status_code
        self.statuses[status] += 1
        self.kinds[case.kind] += 1
        where = f"{sent}\n-> {status} {dict(response.headers)}\n{response.text[:1500]}"
        # PRODUCT.md: /Me answers 501, and /Bulk is advertised as unsupported.
        unimplemented = status == 501 and urlsplit(sent.url).path in NOT_IMPLEMENTED
        assert status < 500 or unimplemented, where
        if 400 <= status < 500 or unimplemented:
            try:
                error = response.json()
            except ValueError:
                raise AssertionError(f"a {status} that is not JSON:\n{where}") from None
            assert isinstance(error, dict), where
            assert error.get("schemas") == [ERROR_SCHEMA], where
            assert error.get("status") == str(status), where
            after = fingerprint(self.engine)
            assert after == before, f"a refused request changed data ({before} → {after}):\n{where}"
        self._follow(sent, status, response)

    def _follow(self, sent: Sent, status: int, response: requests.Response) -> None:
        """Keep the pool in step with what a successful request created or deleted."""
        acting = next(
            (
                name
                for name, pool in self.pools.items()
                if pool.token in (sent.headers.get("Authorization") or "")
            ),
            None,
        )
        if acting is None or status >= 300:
            return
        pool = self.pools[acting]
        if sent.method == "DELETE" and status == 204:
            deleted = sent.url.rsplit("/", 1)[-1]
            pool.users.pop(deleted, None)
            pool.groups.pop(deleted, None)
            pool.deleted.append(deleted)
        elif sent.method in ("POST", "PUT", "PATCH") and status in (200, 201):
            resource = response.json()
            if isinstance(resource, dict) and "id" in resource:
                self._remember(acting, resource)


@pytest.mark.slow
def test_hostile_requests_get_scim_answers_and_change_nothing_when_refused(app, database_url):
    """Generated requests to live gunicorn: no 5xx, SCIM errors, refusals change nothing."""
    tokens = {
        "okta": make_directory(app, name="okta", provider=Provider.OKTA).token,
        "entra": make_directory(app, name="entra", provider=Provider.ENTRA).token,
    }
    with app.app_context():
        engine = get_engine()
    with (
        servers.gunicorn(database_url, workers=2) as (base, _),
        requests.Session() as http,
    ):
        fuzzer = Fuzzer(base, http, engine, tokens)
        for directory in tokens:
            fuzzer.seed_pool(directory)

        @settings(
            max_examples=EXAMPLES,
            deadline=None,  # a request's time is bounded by TIMEOUT, not by hypothesis
            database=None,  # no example database in the working tree
            derandomize=not LONG_RUN,
        )
        @given(case=cases())
        def one_request(case):
            """Send one case (the pool refilled first) and check its answer."""
            fuzzer.replenish()
            fuzzer.run(case)

        for case in REGRESSIONS:
            one_request = example(case=case)(one_request)
        if LONG_RUN:
            # An explicit seed overrides derandomize: only the long run draws one (printed below).
            one_request = seed(SEED)(one_request)

        started = time.monotonic()
        try:
            one_request()
        finally:
            took = time.monotonic() - started
            sent = sum(fuzzer.statuses.values())
            print(
                f"\nfuzz ({engine.dialect.name}, "
                f"{'seed ' + str(SEED) if LONG_RUN else 'derandomized'}): "
                f"{sent} requests in {took:.1f} s; statuses {dict(sorted(fuzzer.statuses.items()))}"
                f"; kinds {dict(sorted(fuzzer.kinds.items()))}"
            )
