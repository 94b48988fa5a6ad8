"""The instance folder (ROLECALL_INSTANCE_PATH) and the SQLite database kept in it by default.

Read by `create_app` and by `migrations/env.py`, so that `alembic upgrade head` without
DATABASE_URL migrates the very file the app then opens, without building the app.
"""

import os
from pathlib import Path

from flask.sansio.scaffold import find_package

DATABASE_FILE = "rolecall.sqlite3"


def instance_path() -> str:
    """Return ROLECALL_INSTANCE_PATH, else the instance folder Flask gives the `app` package.

    Flask's rule (`Flask.auto_find_instance_path`): `instance/` beside the package in a
    checkout, `<prefix>/var/app-instance` when the package is installed.
    """
    path = os.environ.get("ROLECALL_INSTANCE_PATH")
    if path is not None:
        return path
    prefix, package_path = find_package("app")
    if prefix is None:
        return os.path.join(package_path, "instance")
    return os.path.join(prefix, "var", "app-instance")


def default_database_url(folder: str) -> str:
    """Return the URL of the SQLite file in an instance folder, creating the folder."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{Path(folder) / DATABASE_FILE}"
