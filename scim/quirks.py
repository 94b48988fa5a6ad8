"""IdP tolerance profiles: every deviation from RFC 7644 that Rolecall absorbs, by provider.

One comment per quirk, naming the IdP behaviour it absorbs.
"""

from scim2_models import ScimPolicy

from rbac.models import Provider

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
