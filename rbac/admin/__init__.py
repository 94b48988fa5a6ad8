"""Admin operations on the RBAC model, by subject: resources, grants, principals, settings.

Each takes a `Context` (session, catalog, organization, acting principal), is authorised by
the engine's own check for that principal (`rbac.authorization`), changes the base tables,
and hands what it changed to the one door, `rbac.changes.apply_changes`. None commits.
"""
