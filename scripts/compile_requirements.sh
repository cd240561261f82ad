#!/usr/bin/env bash
# Recompile requirements.txt and requirements-dev.txt (pinned, with hashes) from their .in files,
# with pip-tools in a virtualenv of its own (the project's virtualenv is left as it is).
# Versions already in the .txt files are kept; pass `--upgrade-package NAME` to move one.
# PYTHON names the interpreter (a Python 3.11, as the image; default python3.11).
set -euo pipefail
cd "$(dirname "$0")/.."
tools=${PIPTOOLS_VENV:-${TMPDIR:-/tmp}/soulverse-piptools}
[ -x "$tools/bin/pip-compile" ] || { "${PYTHON:-python3.11}" -m venv "$tools" && "$tools/bin/pip" install --quiet pip-tools==7.6.2; }
# The generated files name this script as the command that made them.
export CUSTOM_COMPILE_COMMAND="scripts/compile_requirements.sh"
compile() {
    "$tools/bin/pip-compile" --quiet --generate-hashes --allow-unsafe --strip-extras \
        --no-emit-index-url --no-emit-find-links --output-file="$1" "$2" "${@:3}"
}
compile requirements.txt requirements.in "$@"
# requirements-dev.in is constrained by requirements.txt: compiled second.
compile requirements-dev.txt requirements-dev.in "$@"
