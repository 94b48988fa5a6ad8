"""Marshmallow schemas of /api/v1: every input and output, and so its OpenAPI document.

One module per route module of app/api/ (`events`, `questions`, `directory`, `model`, `org`,
`webhooks`), and `common` for what they share.
"""
