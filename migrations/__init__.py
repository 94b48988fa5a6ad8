"""Alembic migrations of Rolecall's schema (a package, so an installed Rolecall finds them)."""
