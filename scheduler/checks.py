"""System checks of the scheduler's settings (run by every management command and `check`)."""

import urllib.parse

from django.conf import settings
from django.core import checks

from scheduler.registry import JOBS_BY_ID


@checks.register("soulverse")
def heartbeat_urls_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """JOB_HEARTBEAT_URLS names registered jobs and http(s) URLs: a typo would ping nothing, silently."""
    errors = []
    for job_id, url in settings.JOB_HEARTBEAT_URLS.items():
        if job_id not in JOBS_BY_ID:
            errors.append(
                checks.Error(
                    f"JOB_HEARTBEAT_URLS: {job_id!r} is no job (known: {', '.join(JOBS_BY_ID)}).", id="soulverse.E010"
                )
            )
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            errors.append(
                checks.Error(f"JOB_HEARTBEAT_URLS: the URL of {job_id!r} is not an http(s) URL.", id="soulverse.E011")
            )
    return errors
