"""The `rolecall` command line (the console script `rolecall = app.cli:cli`).

`base` holds the group, its exit codes and what every command shares. Each other module adds
the commands of one subject to the group: `server` (db upgrade, bootstrap, run),
`directories` (directory, token, journal), `org` (apikey, org, admin), `model` (project,
asset, grant, revoke, assign, unassign), `principals` (user, group), `access` (check, explain,
verify, recompute, catalog) and `webhooks` (webhook, worker). They are imported here, where
the command line is assembled, so that `cli` holds every command wherever it is imported from.
"""

# Each command module adds its commands to `cli` when imported.
from app.cli import access, directories, model, org, principals, server, webhooks  # noqa: F401
from app.cli.base import cli

__all__ = ["cli"]
