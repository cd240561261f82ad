"""Prometheus metrics: multiprocess storage, the /metrics view and the project-wide counters.

Every process (gunicorn workers, qcluster workers) writes its metrics to memory-mapped files in
PROMETHEUS_MULTIPROC_DIR (prometheus-client's multiprocess mode, switched on by settings.py);
/metrics merges them at scrape time and adds what is read from the database then (see
scheduler/metrics.py). The directory belongs to one host: web and qcluster there share it.
"""

import hmac
import logging
import os
import re
from pathlib import Path

from django.conf import settings
from django.http import Http404, HttpResponse
from django.utils.module_loading import import_string
from django.views.decorators.http import require_safe
from prometheus_client import CollectorRegistry, Counter, multiprocess
from prometheus_client.exposition import choose_encoder

logger = logging.getLogger(__name__)

THROTTLED_REQUESTS = Counter(
    "soulverse_http_throttled_requests_total", "API requests refused with 429 by a DRF throttle.", ["view"]
)

_FILE_PID = re.compile(r"_(\d+)\.db$")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def metrics_dir_clean(*, path: str | None = None) -> int:
    """Remove the files of processes that are gone; called when web and qcluster start.

    The live processes' files stay: web and qcluster share the directory and start apart, and
    removing a live process's file would lose its counts (it keeps writing to the unlinked file).
    Returns how many files were removed."""
    directory = Path(path or settings.PROMETHEUS_MULTIPROC_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    removed = 0
    for file in directory.glob("*.db"):
        match = _FILE_PID.search(file.name)
        if match and not _pid_alive(int(match.group(1))):
            file.unlink(missing_ok=True)
            removed += 1
    logger.info("event=metrics_dir_cleaned removed_files=%s", removed)
    return removed


def metrics_render(*, accept: str = "") -> tuple[bytes, str]:
    """(body, content type): every process's metrics merged, plus the scrape-time collectors, in
    the format the scraper asks for (Prometheus text, or OpenMetrics)."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=settings.PROMETHEUS_MULTIPROC_DIR)
    for dotted in settings.METRICS_COLLECTORS:
        registry.register(import_string(dotted)())
    encoder, content_type = choose_encoder(accept)
    return encoder(registry), content_type


def _bearer_ok(request) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), settings.METRICS_TOKEN.encode())


@require_safe
def metrics_view(request):
    """GET /metrics with `Authorization: Bearer $METRICS_TOKEN`; absent (404) without a token set."""
    if not settings.METRICS_TOKEN:
        raise Http404
    if not _bearer_ok(request):
        response = HttpResponse("Unauthorized\n", status=401, content_type="text/plain; charset=utf-8")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body, content_type = metrics_render(accept=request.headers.get("Accept", ""))
    return HttpResponse(body, content_type=content_type)
