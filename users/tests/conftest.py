import pytest


@pytest.fixture
def no_admin_env(monkeypatch):
    """ensure_admin without the SOULVERSE_ADMIN_* variables of the environment."""
    for name in ("SOULVERSE_ADMIN_EMAIL", "SOULVERSE_ADMIN_PASSWORD", "SOULVERSE_ADMIN_TOKEN"):
        monkeypatch.delenv(name, raising=False)
