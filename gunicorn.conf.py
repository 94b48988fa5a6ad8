"""Read by `gunicorn wsgi:app` from this folder: settings that keep secrets out of its logs."""

from app.serving import ACCESS_LOG_FORMAT

access_log_format = ACCESS_LOG_FORMAT
