"""The dependency files say what the code uses, pinned, with hashes.

requirements.in declares the runtime set (every distribution the application code imports), and
requirements-dev.in what tests and benchmarks add; pip-tools compiles each into a .txt pinned with
hashes (scripts/compile_requirements.sh). These tests read the code's imports (ast) and map them
to distributions through importlib.metadata, so an import nobody declared fails here rather than in
an image that lacks it.
"""

import ast
import importlib.metadata
import re
import sys
from functools import cache
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
TEST_PARTS = {"tests", "testing", "bench"}  # directories of tests, their stand-ins, benchmarks
# The package soulverse/tests/test_openapi_client.py generates from the schema and then imports.
GENERATED = {"soul_verse_scheduler_api_client"}
SKIPPED_DIRS = {".venv", "venv", ".git", "var", "node_modules", "staticfiles", "__pycache__"}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared(path: str) -> dict[str, str]:
    """The distributions a .in file names, canonical name -> pinned version."""
    pins = {}
    for line in (ROOT / path).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;]+)", line)
        assert match, f"{path}: {line!r} is not pinned exactly (NAME==VERSION)"
        pins[canonical(match[1])] = match[3]
    return pins


def compiled(path: str) -> dict[str, str]:
    """The pins of a pip-compile'd .txt, canonical name -> version; each must carry its hashes."""
    pins = {}
    text = (ROOT / path).read_text()
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        head = block.split("\\", 1)[0].strip()
        if not head or head.startswith("#"):
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", head)
        assert match, f"{path}: {head!r} is not pinned exactly"
        assert "--hash=sha256:" in block, f"{path}: {head} has no hash"
        pins[canonical(match[1])] = match[2]
    return pins


def project_modules() -> list[Path]:
    files = []
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT).parts
        if not SKIPPED_DIRS.intersection(parts):
            files.append(path)
    return sorted(files)


def is_test_or_bench(path: Path) -> bool:
    parts = path.relative_to(ROOT).parts
    return bool(TEST_PARTS.intersection(parts[:-1])) or parts[-1] == "conftest.py"


def first_party() -> set[str]:
    return {path.relative_to(ROOT).parts[0].removesuffix(".py") for path in project_modules()}


def imports(path: Path) -> set[str]:
    """The absolute imports of a module (at any depth: in functions too), dotted, less those of a
    module beside it (a script's sibling: bench/attack_load.py imports http_load)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # `from google import genai` imports google.genai (an attribute's name does no harm).
            names.update(f"{node.module}.{alias.name}" for alias in node.names if alias.name != "*")
    return {name for name in names if not (path.parent / f"{name.split('.')[0]}.py").exists()}


@cache
def top_level_distributions() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()


@cache
def distribution_files() -> dict[str, set[str]]:
    """Each installed distribution's files, as paths relative to site-packages."""
    return {
        canonical(dist.metadata["Name"]): {str(file) for file in dist.files or ()}
        for dist in importlib.metadata.distributions()
    }


def distributions_of(module: str) -> set[str]:
    """The installed distributions that provide `module`: by its top-level name, narrowed for the
    namespace packages that several distributions share (google.auth, google.genai, google.cloud.x)
    by its sub-packages."""
    parts = module.split(".")
    providers = {canonical(name) for name in top_level_distributions().get(parts[0], ())}
    for depth in range(2, len(parts) + 1):
        if len(providers) < 2:
            break
        prefix = "/".join(parts[:depth])
        narrowed = {
            name
            for name in providers
            if any(file == f"{prefix}.py" or file.startswith(f"{prefix}/") for file in distribution_files()[name])
        }
        if not narrowed:
            break
        providers = narrowed
    return providers


def undeclared(modules: set[str], allowed: set[str]) -> dict[str, set[str]]:
    ours = first_party()
    missing = {}
    for module in sorted(modules):
        top = module.split(".")[0]
        if top in sys.stdlib_module_names or top in ours or top in GENERATED:
            continue
        providers = distributions_of(module)
        if not providers & allowed:
            missing[module] = providers or {"(not installed)"}
    return missing


def settings_modules() -> set[str]:
    """Apps, middleware and backends that settings name by dotted path (never imported in code)."""
    paths = [*settings.INSTALLED_APPS, *settings.MIDDLEWARE, *settings.AUTHENTICATION_BACKENDS]
    paths += [cache_settings["BACKEND"] for cache_settings in settings.CACHES.values()]
    return set(paths)


def test_every_import_of_the_application_code_is_a_declared_runtime_dependency():
    runtime = set(declared("requirements.in"))
    modules = set().union(*(imports(path) for path in project_modules() if not is_test_or_bench(path)))
    assert {"google.auth.transport.requests", "google.genai.types", "requests.adapters", "pydantic"} <= modules
    assert undeclared(modules | settings_modules(), runtime) == {}


def test_every_import_of_the_tests_and_benchmarks_is_declared_in_one_of_the_two_sets():
    allowed = set(declared("requirements.in")) | set(declared("requirements-dev.in"))
    modules = set().union(*(imports(path) for path in project_modules() if is_test_or_bench(path)))
    assert {"pytest", "selenium", "schemathesis", "factory"} <= {module.split(".")[0] for module in modules}
    assert undeclared(modules, allowed) == {}


def test_an_undeclared_import_is_caught_however_it_is_written(tmp_path):
    runtime = set(declared("requirements.in"))
    # google-cloud-storage and sqlparse are installed (dependencies of declared ones), not declared.
    assert distributions_of("google.cloud.storage") == {"google-cloud-storage"}
    assert undeclared({"google.cloud.storage", "sqlparse", "google.auth", "yaml.loader"}, runtime) == {
        "google.cloud.storage": {"google-cloud-storage"},
        "sqlparse": {"sqlparse"},
        "yaml.loader": {"pyyaml"},
    }
    module = tmp_path / "late.py"
    module.write_text("def f():\n    from sqlparse import format\n    import yaml.loader as loader\n")
    assert imports(module) == {"sqlparse.format", "yaml.loader"}
    assert undeclared(imports(module), runtime) == {"sqlparse.format": {"sqlparse"}, "yaml.loader": {"pyyaml"}}


def test_the_compiled_files_pin_every_distribution_with_hashes_and_keep_the_declared_versions():
    runtime, dev = compiled("requirements.txt"), compiled("requirements-dev.txt")
    for source, lock in (("requirements.in", runtime), ("requirements-dev.in", dev)):
        for name, version in declared(source).items():
            assert lock.get(name) == version, f"{source} pins {name}=={version}: recompile (requirements.in header)"
    # The dev set is constrained by the runtime set: one version of each, whichever file installs it.
    assert {name: version for name, version in dev.items() if runtime.get(name, version) != version} == {}
    # The runtime set carries no test tool.
    assert not {
        "pytest",
        "pytest-django",
        "schemathesis",
        "hypothesis",
        "selenium",
        "factory-boy",
        "openapi-python-client",
        "ruff",
    } & set(runtime)


def test_the_image_installs_the_runtime_set_only_and_make_installs_both():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install --require-hashes -r requirements.txt" in dockerfile
    assert "requirements-dev" not in dockerfile
    makefile = (ROOT / "Makefile").read_text()
    assert "--require-hashes -r requirements.txt -r requirements-dev.txt" in makefile
