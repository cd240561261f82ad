import pytest


@pytest.fixture
def no_admin_env(monkeypatch):
    """ensure_admin without the SOULVERSE_ADMIN_* variables of the environment."""
    for name in (
        "SOULVERSE_ADMIN_EMAIL",
        "SOULVERSE_ADMIN_PASSWORD",
        "SOULVERSE_ADMIN_TOKEN",
        "SOULVERSE_ADMIN_PASSWORD_FILE",
        "SOULVERSE_ADMIN_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
