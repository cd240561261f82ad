"""DRF throttles on the default cache (Redis when REDIS_URL is set), rates read at each request.

DRF's own classes copy the rates once, when the class is defined; these read
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] when they run, so that a changed setting applies."""

from rest_framework import throttling
from rest_framework.settings import api_settings


class _SettingsRate:
    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class AnonThrottle(_SettingsRate, throttling.AnonRateThrottle):
    """Anonymous callers, by client address."""


class UserThrottle(_SettingsRate, throttling.UserRateThrottle):
    """Signed-in users, by user."""


class ScopedThrottle(_SettingsRate, throttling.ScopedRateThrottle):
    """Views with a `throttle_scope` (login, trigger), by user or client address."""

    def allow_request(self, request, view):
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope or self.scope not in api_settings.DEFAULT_THROTTLE_RATES:
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return throttling.SimpleRateThrottle.allow_request(self, request, view)
