"""What the server says of itself: ServiceProviderConfig, ResourceTypes and Schemas."""

from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    EnterpriseUser,
    ETag,
    Filter,
    Group,
    Patch,
    ResourceType,
    Schema,
    ServiceProviderConfig,
    Sort,
    User,
)


def service_provider_config(max_page_size: int) -> ServiceProviderConfig:
    """Return the ServiceProviderConfig, true to what is implemented."""
    return ServiceProviderConfig(
        documentation_uri=None,
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=max_page_size),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=True),
        etag=ETag(supported=True),
        authentication_schemes=[
            AuthenticationScheme(
                type=AuthenticationScheme.Type.oauthbearertoken,
                name="Bearer token",
                description="A directory's bearer token, created with `rolecall token create`",
                primary=True,
            )
        ],
    )


def resource_types() -> list[ResourceType]:
    """Return the resource types served: User (with the enterprise extension) and Group."""
    return [ResourceType.from_resource(User[EnterpriseUser]), ResourceType.from_resource(Group)]


def schemas() -> list[Schema]:
    """Return the schemas of every served resource and extension."""
    return [User.to_schema(), EnterpriseUser.to_schema(), Group.to_schema()]
