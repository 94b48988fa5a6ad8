"""IdP tolerance profiles: every deviation from RFC 7644 that Rolecall absorbs, by provider.

One comment per quirk, naming the IdP behaviour it absorbs. Each absorbed quirk is
reported by name through `note`, so the request journal shows which fired.
"""

import re
from collections.abc import Callable
from typing import Any

import email_validator
from scim2_models import EnterpriseUser, Group, ScimPolicy, User

from rbac.models import Provider

ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
_MISSPELT_ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"
ENTRA_GROUP_SCHEMA = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
_BOOLEAN_ATTRIBUTES = {"active", "primary"}
# A filter's string literals (kept apart when rewriting attribute names) and a manager
# attribute named without its sub-attribute, with or without the extension's URN.
_FILTER_STRING = re.compile(r'("(?:[^"\\]|\\.)*")')
_BARE_MANAGER = re.compile(
    r"(?<![\w:.])(?:urn:ietf:params:scim:schemas:extension:enterprise:2\.0:user:)?manager(?![\w.])",
    re.IGNORECASE,
)
_KNOWN_ATTRIBUTES = {
    (field.serialization_alias or name).lower()
    for model in (User[EnterpriseUser], Group)
    for name, field in model.model_fields.items()
}

# Okta's SCIM reference provisions test.user@okta.local, and test tenants use .local and .test
# domains. RFC 7643 makes emails.value a plain string; scim2-models types it as pydantic's
# EmailStr, whose validator refuses special-use domain names. Accept them, for every provider.
email_validator.SPECIAL_USE_DOMAIN_NAMES = []

Note = Callable[[str], None]
Locate = Callable[[str], str]

_STRICT = ScimPolicy()

_ENTRA = ScimPolicy(
    # Entra removes group members with {"op":"Remove","path":"members","value":[{"value":id}]}:
    # the value selects which members to remove (never the whole list).
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    # Entra sends "add" on a filtered path such as emails[type eq "work"].value for a user who
    # has no work email yet, expecting the entry to be created.
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)

_PROFILES = {Provider.ENTRA: _ENTRA}


def policy_for(provider: Provider) -> ScimPolicy:
    """Return the scim2-models tolerance policy of a directory's provider."""
    return _PROFILES.get(provider, _STRICT)


def absorb_resource(provider: Provider, payload: dict, note: Note, locate_user: Locate) -> dict:
    """Rewrite a User or Group body (POST, PUT) into what RFC 7643 says, per provider."""
    if provider == Provider.ENTRA:
        schemas = payload.get("schemas")
        if isinstance(schemas, list) and ENTRA_GROUP_SCHEMA in schemas:
            # Entra lists its own Group schema URI beside the core one on every group it sends.
            payload["schemas"] = schemas = [s for s in schemas if s != ENTRA_GROUP_SCHEMA]
            note("entra:group-schema-uri")
        if isinstance(schemas, list) and _MISSPELT_ENTERPRISE_USER in schemas:
            # Entra's tutorial (Example 2, "Provision a user") lists the enterprise extension
            # as "...:enterprise:2.0User", without the last colon.
            payload["schemas"] = [
                ENTERPRISE_USER if s == _MISSPELT_ENTERPRISE_USER else s for s in schemas
            ]
            note("entra:misspelt-enterprise-schema")
        _booleans_from_strings(payload, note)
        _drop_null_unknown_attributes(payload, note)
        extension = payload.get(ENTERPRISE_USER)
        manager_key = _key(extension, "manager") if isinstance(extension, dict) else None
        if manager_key is not None:
            extension[manager_key] = _manager(extension[manager_key], note, locate_user)
    if provider == Provider.OKTA and any(key in payload for key in ("id", "meta", "groups")):
        # Okta's PUT /Users/{id} echoes the whole user: id, meta and groups, all read-only.
        note("okta:put-read-only-attributes")
        payload.pop("groups", None)
    return payload


def absorb_filter(provider: Provider, text: str, note: Note) -> str:
    """Rewrite a filter's attribute names into what RFC 7644 §3.4.2.2 says, per provider."""
    if provider != Provider.ENTRA:
        return text
    # Entra's tutorial (Example 4) checks a manager with "manager eq {id}": the enterprise
    # attribute without its URN, compared as a whole instead of by its value sub-attribute.
    parts = _FILTER_STRING.split(text)
    rewritten = [
        part if index % 2 else _BARE_MANAGER.sub(f"{ENTERPRISE_USER}:manager.value", part)
        for index, part in enumerate(parts)
    ]
    if rewritten != parts:
        note("entra:bare-manager-filter")
    return "".join(rewritten)


def absorb_patch(provider: Provider, payload: dict, note: Note, locate_user: Locate) -> dict:
    """Rewrite a PatchOp body into what RFC 7644 §3.5.2 says, per provider."""
    if provider != Provider.ENTRA:
        return payload
    operations = payload.get("Operations")
    if not isinstance(operations, list):
        return payload
    for operation in operations:
        if not isinstance(operation, dict):
            continue
        op, path, value = operation.get("op"), operation.get("path"), operation.get("value")
        if isinstance(op, str) and op != op.lower():
            # Entra sends "Add", "Replace" and "Remove", capitalised.
            operation["op"] = op.lower()
            note("entra:capitalised-op")
        if isinstance(path, str):
            if path.lower() in _BOOLEAN_ATTRIBUTES and isinstance(value, str):
                operation["value"] = _boolean(value, note)
            elif path.lower() == "manager":
                # Entra's tutorial (Example 5) patches the manager by its bare name, without
                # the enterprise extension's URN.
                operation["path"] = f"{ENTERPRISE_USER}:manager"
                operation["value"] = _manager(value, note, locate_user)
                note("entra:bare-manager-path")
            elif path.lower().endswith(":manager"):
                operation["value"] = _manager(value, note, locate_user)
            elif "[" in path and operation.get("op") == "add":
                note("entra:add-on-filtered-path")
        elif isinstance(value, dict):
            if any("." in key or ":" in key for key in value):
                # Entra's path-less replace names attributes by dotted paths and URN prefixes
                # ("name.givenName", "urn:...:enterprise:2.0:User:employeeNumber").
                note("entra:path-keys-in-value")
            _booleans_from_strings(value, note)
            for key in list(value):
                if key.lower().endswith(":manager"):
                    value[key] = _manager(value[key], note, locate_user)
    return payload


def _drop_null_unknown_attributes(payload: dict, note: Note) -> None:
    # Entra's tutorial (Example 2, "Provision a user") sends enterprise attributes such as
    # "department": null un-namespaced at the top level; unknown non-null attributes stay an
    # error, since dropping them would lose what the IdP meant to set.
    unknown = [k for k, v in payload.items() if v is None and k.lower() not in _KNOWN_ATTRIBUTES]
    for key in unknown:
        del payload[key]
    if unknown:
        note("entra:null-unknown-attributes")


def _booleans_from_strings(document: Any, note: Note) -> None:
    """Turn "True"/"False" strings of boolean attributes into booleans, in place."""
    if isinstance(document, list):
        for item in document:
            _booleans_from_strings(item, note)
    elif isinstance(document, dict):
        for key, value in document.items():
            if key.rpartition(".")[2].lower() in _BOOLEAN_ATTRIBUTES and isinstance(value, str):
                document[key] = _boolean(value, note)
            else:
                _booleans_from_strings(value, note)


def _boolean(value: str, note: Note) -> Any:
    # Entra sends booleans as the strings "True" and "False" (e.g. "active": "False").
    if value.lower() in ("true", "false"):
        note("entra:boolean-strings")
        return value.lower() == "true"
    return value


def _manager(value: Any, note: Note, locate_user: Locate) -> Any:
    # Entra sends the manager as a bare id ("value": "26118915-6090-4610-87a4-49d0767e3d5b"),
    # as {"value": id} without the "$ref" RFC 7643 §4.3 requires, or as a one-item list.
    if isinstance(value, list) and len(value) == 1:
        note("entra:manager-list")
        value = value[0]
    if isinstance(value, str) and value:
        note("entra:bare-manager")
        return {"value": value, "$ref": locate_user(value)}
    # Microsoft's SCIM reference code sends {"Manager": {"Value": id}}: names are
    # case-insensitive (RFC 7643 §2.1), so the keys are found whatever their case.
    if isinstance(value, dict) and _key(value, "$ref") is None:
        value_key = _key(value, "value")
        if value_key is not None and isinstance(value[value_key], str):
            note("entra:bare-manager")
            return {**value, "$ref": locate_user(value[value_key])}
    return value


def _key(document: dict, name: str) -> str | None:
    """Return the key of document that names attribute `name`, in whatever case it was sent."""
    return next((key for key in document if key.lower() == name), None)
