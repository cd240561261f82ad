"""docker-compose.yml against scripts/smoke_production.sh, which runs its topology as processes in CI
(this machine has no Docker): every service the script runs exists in compose with the same
command, the same environment names (and the same values where they are not addresses or
paths) and the same secrets; and compose's own wiring holds (no published gunicorn, the proxy at
the one trusted address, init before web and workers, backups, the monitoring profile)."""

import ipaddress
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
SMOKE = (ROOT / "scripts" / "smoke_production.sh").read_text()
NGINX_TEMPLATE = (ROOT / "deploy" / "nginx" / "templates" / "soulverse.conf.template").read_text()
APP_SERVICES = ("init", "web", "worker")
# The application's variables whose value is an address, a path or an account: local in the smoke test.
LOCAL_VALUES = {
    "DJANGO_ALLOWED_HOSTS",
    "DJANGO_CSRF_TRUSTED_ORIGINS",
    "FORWARDED_ALLOW_IPS",
    "DATABASE_URL",
    "REDIS_URL",
    "SOULVERSE_ADMIN_EMAIL",
}
SECRET_VALUES = ("DJANGO_SECRET_KEY", "GEMINI_API_KEY", "METRICS_TOKEN", "SOULVERSE_ADMIN_PASSWORD")


def smoke_array(name: str) -> dict[str, str]:
    """A bash array of NAME=VALUE words in the smoke script, e.g. app_env=( ... )."""
    match = re.search(rf"^{name}=\(\n(.*?)\n\)", SMOKE, re.MULTILINE | re.DOTALL)
    assert match, f"no {name}=( ... ) in scripts/smoke_production.sh"
    pairs = {}
    for line in match.group(1).splitlines():
        word = line.split("#")[0].strip()
        if word:
            key, _, value = word.partition("=")
            pairs[key] = value
    return pairs


def compose_default(value: str) -> str:
    """What compose gives for `${NAME:-default}` left unset (and plain values as they are)."""
    match = re.fullmatch(r"\$\{\w+:-(.*)\}", value)
    return match.group(1) if match else value


def environment(service: str) -> dict[str, str | None]:
    return {key: None if value is None else str(value) for key, value in SERVICES[service]["environment"].items()}


def test_the_smoke_test_runs_the_containers_commands():
    for role in APP_SERVICES:
        assert SERVICES[role]["command"] == ["sh", "deploy/start.sh", role]
        assert f"sh deploy/start.sh {role}" in SMOKE
    workers = int(re.search(r"^workers=(\d+)", SMOKE, re.MULTILINE).group(1))
    assert workers == SERVICES["worker"]["deploy"]["replicas"] == 2
    assert SERVICES["proxy"]["image"].startswith("nginx:")
    # The proxy's config is the template both render.
    assert "./deploy/nginx/templates:/etc/nginx/templates:ro" in SERVICES["proxy"]["volumes"]
    assert "deploy/nginx/templates/soulverse.conf.template" in SMOKE


def test_the_application_environment_is_the_same():
    smoke = smoke_array("app_env")
    for role in APP_SERVICES:
        assert environment(role) == environment("web"), f"{role}'s environment differs from web's"
    compose = environment("web")
    # Optional variables are passed on from .env without a value of their own; the others are set.
    passed_on = {key for key, value in compose.items() if value is None}
    assert passed_on == {
        "GEMINI_MODEL",
        "SENTRY_DSN",
        "SENTRY_ENVIRONMENT",
        "SENTRY_RELEASE",
        "JOB_HEARTBEAT_URLS",
        "VERSES_REQUIRE_APPROVAL",
        "VERSES_REVIEW_PREPARE_AT",
        "VERSES_TODAY_CACHE_SECONDS",
        "DEVICES_PER_USER",
        "FCM_SEND_MODE",
        "PUSH_PREPARE_AHEAD_MINUTES",
    }
    compose = {key: value for key, value in compose.items() if key not in passed_on}
    assert set(smoke) == set(compose)
    for key, value in compose.items():
        if key not in LOCAL_VALUES and not key.endswith("_FILE"):
            assert smoke[key] == compose_default(value), key
    assert compose["Q_BROKER"] == "redis" and compose["DJANGO_BEHIND_PROXY"] == "true"
    # One place names the Gemini model: the settings' default (compose only passes an override on).
    assert "GEMINI_MODEL" not in compose


def test_secrets_are_files_mounted_the_same_way():
    compose, smoke = environment("web"), smoke_array("app_env")
    files = {key: value for key, value in compose.items() if key.endswith("_FILE")}
    assert set(files) == {f"{name}_FILE" for name in SECRET_VALUES} | {"FCM_CREDENTIALS_FILE"}
    for name in SECRET_VALUES:
        assert name not in compose, f"{name} as a value in the environment"
    for key, path in files.items():
        secret = Path(path).name
        assert path == f"/run/secrets/{secret}", key
        assert secret in SERVICES["web"]["secrets"], key
        assert COMPOSE["secrets"][secret]["file"].startswith("./deploy/secrets/"), key
        # The smoke test's file has the name compose mounts it under.
        assert smoke[key] == f"$secrets/{secret}", key
    assert "secrets=$work/run/secrets" in SMOKE


def test_gunicorn_is_reached_through_the_proxy_only():
    for name in ("init", "web", "worker", "postgres", "redis", "backup"):
        assert "ports" not in SERVICES[name], f"{name} publishes a port"
    assert SERVICES["proxy"]["ports"] == ["80:80", "443:443"]
    networks = COMPOSE["networks"]
    assert networks["backend"]["internal"] is True
    assert set(SERVICES["proxy"]["networks"]) == {"edge", "backend"}
    for name in ("web", "worker", "init"):
        assert "edge" not in SERVICES[name]["networks"]
        assert "backend" in SERVICES[name]["networks"]


def test_forwarded_headers_are_trusted_from_exactly_the_proxy():
    compose = environment("web")
    proxy_address = SERVICES["proxy"]["networks"]["backend"]["ipv4_address"]
    subnet = ipaddress.ip_network(COMPOSE["networks"]["backend"]["ipam"]["config"][0]["subnet"])
    assert compose["FORWARDED_ALLOW_IPS"] == proxy_address
    assert ipaddress.ip_address(proxy_address) in subnet
    assert environment("proxy")["METRICS_ALLOW_FROM"] == str(subnet)
    # In the smoke test nginx reaches gunicorn from loopback, and gunicorn listens there only.
    assert smoke_array("app_env")["FORWARDED_ALLOW_IPS"] == "127.0.0.1"
    assert smoke_array("local_env")["GUNICORN_BIND"].startswith("127.0.0.1:")
    assert environment("proxy")["SOULVERSE_UPSTREAM"] == "web:8000"


def test_the_proxy_environment_is_the_same_and_fills_the_template():
    used = set(
        re.findall(
            r"\$\{(\w+)\}", "\n".join(line for line in NGINX_TEMPLATE.splitlines() if not line.lstrip().startswith("#"))
        )
    )
    assert set(environment("proxy")) == set(smoke_array("proxy_env")) == used


def test_init_runs_before_web_and_workers():
    for name in ("web", "worker"):
        assert SERVICES[name]["depends_on"]["init"] == {"condition": "service_completed_successfully"}
    assert SERVICES["init"]["restart"] == "no"
    assert SERVICES["proxy"]["depends_on"]["web"]["condition"] == "service_healthy"


def test_backups_run_the_scripts_the_smoke_test_restores():
    backup = SERVICES["backup"]
    assert backup["image"] == SERVICES["postgres"]["image"]
    assert backup["command"] == ["sh", "/opt/backup/backup.sh", "--daily"]
    assert "./deploy/backup:/opt/backup:ro" in backup["volumes"]
    assert "backups:/backups" in backup["volumes"] and "backups" in COMPOSE["volumes"]
    assert "sh deploy/backup/backup.sh" in SMOKE and "sh deploy/backup/restore.sh" in SMOKE


def test_monitoring_profile():
    for name in ("prometheus", "alertmanager"):
        assert SERVICES[name]["profiles"] == ["monitoring"]
    config = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    assert all((ROOT / "deploy" / "prometheus" / rule).exists() for rule in config["rule_files"])
    job = next(job for job in config["scrape_configs"] if job["job_name"] == "soulverse")
    assert job["authorization"]["credentials_file"] == "/run/secrets/metrics_token"
    assert "metrics_token" in SERVICES["prometheus"]["secrets"]
    assert job["static_configs"][0]["targets"] == ["proxy:443"]
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["alertmanager:9093"]
    assert "./deploy/prometheus:/etc/prometheus/soulverse:ro" in SERVICES["prometheus"]["volumes"]


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed (apt-get install prometheus)")
def test_prometheus_config_passes_promtool(tmp_path):
    token = tmp_path / "metrics_token"
    token.write_text("x" * 48)
    for name in ("prometheus.yml", "alerts.yml"):
        text = (ROOT / "deploy" / "prometheus" / name).read_text()
        (tmp_path / name).write_text(text.replace("/run/secrets/metrics_token", str(token)))
    result = subprocess.run(
        ["promtool", "check", "config", str(tmp_path / "prometheus.yml")], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(
    shutil.which("amtool") is None, reason="amtool not installed (apt-get install prometheus-alertmanager)"
)
def test_alertmanager_config_passes_amtool():
    result = subprocess.run(
        ["amtool", "check-config", str(ROOT / "deploy" / "alertmanager" / "alertmanager.yml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
