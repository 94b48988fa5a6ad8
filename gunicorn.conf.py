"""Read by `gunicorn wsgi:app` from this folder: log format and request-line bound (app.serving)."""

from app.serving import ACCESS_LOG_FORMAT, LIMIT_REQUEST_LINE

access_log_format = ACCESS_LOG_FORMAT
limit_request_line = LIMIT_REQUEST_LINE
