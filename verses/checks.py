"""`manage.py check --deploy`: the outside services a production deployment says it uses work.

Push and the AI are on unless PUSH_ENABLED / AI_ENABLED say otherwise; on without their
credentials, or with a model Gemini does not know, a deployment would send nothing or fall back
every day while health looks fine. The containers run this check before serving (README)."""

from django.conf import settings
from django.core import checks

PUSH_OFF_HINT = "set PUSH_ENABLED=false to run without push on purpose"
AI_OFF_HINT = "set AI_ENABLED=false to run without the AI on purpose"


def _push_credentials_problem(path: str) -> str | None:
    """Why the file is no usable service-account JSON, or None."""
    from firebase_admin import credentials

    try:
        credentials.Certificate(path)  # reads the file, checks its type and parses the private key
    except OSError as exc:
        return f"cannot read it ({exc.strerror or type(exc).__name__})"
    except ValueError as exc:
        return f"not a Firebase service-account JSON ({str(exc).splitlines()[0][:160]})"
    return None


@checks.register("soulverse", deploy=True)
def push_credentials_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    if settings.DEBUG or not settings.PUSH_ENABLED:
        return []
    path = settings.FCM_CREDENTIALS_FILE
    if not path:
        return [
            checks.Error(
                f"Push is on but FCM_CREDENTIALS_FILE is not set (no push would be sent): point it at the Firebase "
                f"service-account JSON, or {PUSH_OFF_HINT}.",
                id="soulverse.E001",
            )
        ]
    if problem := _push_credentials_problem(path):
        return [
            checks.Error(
                f"FCM_CREDENTIALS_FILE={path}: {problem}; point it at the Firebase service-account "
                f"JSON, or {PUSH_OFF_HINT}.",
                id="soulverse.E002",
            )
        ]
    return []


@checks.register("soulverse", deploy=True)
def ai_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """The key is set, and Gemini knows the model and takes the key (one models.get request)."""
    from verses.ai.gemini import provider_get

    if settings.DEBUG or not settings.AI_ENABLED:
        return []
    if not settings.GEMINI_API_KEY.strip():
        return [
            checks.Error(
                f"The AI is on but GEMINI_API_KEY (or GEMINI_API_KEY_FILE) is not set (every verse would be a curated "
                f"fallback): set the key, or {AI_OFF_HINT}.",
                id="soulverse.E003",
            )
        ]
    provider = provider_get()
    probe = provider.probe()
    if probe.reason == "model_not_found":
        return [
            checks.Error(
                f"GEMINI_MODEL={settings.GEMINI_MODEL}: Gemini does not know this model ({probe.message}); set a current "
                f"model, or {AI_OFF_HINT}.",
                id="soulverse.E004",
            )
        ]
    if probe.status == "misconfigured":
        variable = "GEMINI_API_KEY" if probe.reason == "auth" else "GEMINI_MODEL"
        return [
            checks.Error(
                f"{variable}: Gemini refuses the setup ({probe.reason}: {probe.message}); fix it, or {AI_OFF_HINT}.",
                id="soulverse.E005",
            )
        ]
    if probe.status == "unverified":
        return [
            checks.Warning(
                f"GEMINI_MODEL={settings.GEMINI_MODEL}: Gemini could not be reached to check the model and key "
                f"({probe.reason}: {probe.message}); health shows the AI's state once it answers.",
                id="soulverse.W001",
            )
        ]
    return []
