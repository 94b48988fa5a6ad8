"""Read by `gunicorn wsgi:app` from this folder: log format, request-line bound, metrics hook."""

from app.serving import ACCESS_LOG_FORMAT, LIMIT_REQUEST_LINE, child_exit, post_worker_init

access_log_format = ACCESS_LOG_FORMAT
limit_request_line = LIMIT_REQUEST_LINE
# With PROMETHEUS_MULTIPROC_DIR set (an empty folder), /metrics sums every worker.
child_exit = child_exit
post_worker_init = post_worker_init
