"""/api/v1: the JSON API of an organization for its API keys; marshmallow at the edge, OpenAPI 3.

`boundary` holds what every route shares: the blueprint, the key check, the `writes`
transaction with its Idempotency-Key, and the translation of every error. Each route module
registers its routes on that blueprint: `events` (the event feed), `questions` (check,
explain, a group's grants), `directory` (users, groups, who has access), `model` (projects,
assets, grants, assignments), `org` (catalog, settings, directories) and `webhooks`; their
schemas are in `schemas/`. `reference` serves the OpenAPI document and its reference page.
"""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register /api/v1, its OpenAPI document and its reference page on the app."""
    # The route modules register their routes on the boundary's blueprint when imported, here
    # and in this order: the OpenAPI document lists the paths in the order they were registered.
    from app.api import events, questions, directory, model, org, webhooks  # noqa: F401, I001
    from app.api.boundary import bp
    from app.api.reference import init_api

    init_api(app, bp)
