"""/api/v1 routes of the RBAC model: projects, assets, direct grants, group assignments."""
