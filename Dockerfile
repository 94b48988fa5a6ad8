# Rolecall on the official Python slim image: the app (gunicorn) and the webhook worker from one
# image, run as a non-root user; migrations are a separate step (docs/deploy.md).
# BASE_IMAGE stays the official one; `scripts/check-image --stand-in-base` builds and runs the
# image on a stand-in where Docker Hub cannot be reached.
ARG BASE_IMAGE=python:3.12-slim
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# Dependencies first, so that a code change does not reinstall them.
COPY pyproject.toml README.md ./
COPY app ./app
COPY rbac ./rbac
COPY scim ./scim
COPY web ./web
COPY migrations ./migrations
COPY wsgi.py gunicorn.conf.py alembic.ini ./
RUN pip install . \
    && useradd --system --uid 10001 --create-home --home-dir /home/rolecall \
        --shell /usr/sbin/nologin rolecall \
    && mkdir -p /app/instance /tmp/rolecall-metrics \
    && chown rolecall /app/instance /tmp/rolecall-metrics

USER rolecall
# One folder for every gunicorn worker's request metrics (an empty folder at each start).
ENV PROMETHEUS_MULTIPROC_DIR=/tmp/rolecall-metrics
EXPOSE 8000
# The app; `rolecall worker` and `rolecall db upgrade` run from the same image (docs/deploy.md).
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "4", "wsgi:app"]
