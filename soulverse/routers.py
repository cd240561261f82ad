from rest_framework.routers import SimpleRouter


class OptionalSlashRouter(SimpleRouter):
    """Accept /status and /status/ alike (the original service had no trailing slash)."""

    def __init__(self):
        super().__init__()
        self.trailing_slash = "/?"
