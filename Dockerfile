FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

# The runtime set only, every distribution pinned and checked against its hash (requirements.in).
COPY requirements.txt .
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/* \
    && pip install --require-hashes -r requirements.txt

# The code belongs to root and is read-only for the runtime user (.dockerignore keeps .env, local
# databases, .venv and .git out of the build context).
COPY . .
RUN DJANGO_SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput \
    && chmod -R a-w,a+rX /app \
    && useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin soulverse \
    && install -d -o soulverse /var/lib/soulverse/metrics
# The one directory the runtime user writes (outside the code): every process's Prometheus metrics.
ENV PROMETHEUS_MULTIPROC_DIR=/var/lib/soulverse/metrics
USER soulverse

EXPOSE 8000
# The web process (gunicorn.conf.py, with the metrics bookkeeping); the worker runs the same image
# with `python manage.py qcluster`. Both write their metrics to PROMETHEUS_MULTIPROC_DIR (a shared volume).
CMD ["gunicorn", "-c", "gunicorn.conf.py", "soulverse.wsgi:application"]
