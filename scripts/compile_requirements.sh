#!/usr/bin/env bash
# Recompile requirements.txt and requirements-dev.txt (pinned, with hashes) from their .in files,
# with pip-tools in a virtualenv of its own (the project's virtualenv is left as it is).
# Versions already in the .txt files are kept; pass `--upgrade-package NAME` to move one.
set -euo pipefail
cd "$(dirname "$0")/.."
tools=${PIPTOOLS_VENV:-${TMPDIR:-/tmp}/soulverse-piptools}
[ -x "$tools/bin/pip-compile" ] || { python3.11 -m venv "$tools" && "$tools/bin/pip" install --quiet pip-tools==7.6.2; }
compile() {
    "$tools/bin/pip-compile" --quiet --generate-hashes --allow-unsafe --strip-extras \
        --no-emit-index-url --no-emit-find-links --output-file="$1" "$2" "${@:3}"
}
compile requirements.txt requirements.in "$@"
# requirements-dev.in is constrained by requirements.txt: compiled second.
compile requirements-dev.txt requirements-dev.in "$@"
