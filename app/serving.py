"""gunicorn settings shared by `rolecall run` and gunicorn.conf.py (plain `gunicorn wsgi:app`)."""

import gc
import os

# gunicorn's default access log format prints the Basic-auth user name (%(u)s): an IdP set up
# for Basic auth with its token as the user name would have it printed on every line.
ACCESS_LOG_FORMAT = '%(h)s %(l)s - %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"'

# gunicorn refuses request lines longer than this with its own HTML 414, before the app sees
# them. 8190 is gunicorn's largest bound (0 would mean none); a longer filter goes by POST
# /.search, whose body the app bounds (docs/scim.md).
LIMIT_REQUEST_LINE = 8190


def child_exit(server, worker) -> None:
    """Gunicorn hook: a worker's request metrics stop counting as live when it exits."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker) -> None:
    """Gunicorn hook: exempt what the app built at start-up from the garbage collector's scans.

    Modules, mappers, schemas and compiled statements live as long as the worker; with them
    frozen, a collection scans only what requests allocated. A change reaching a 10 000-member
    group spent about 0.4 s of its 1.1 s in collections scanning them (docs/performance.md).
    """
    gc.freeze()
