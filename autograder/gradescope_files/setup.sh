#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image (Ubuntu; this bundle is
# unpacked in /autograder/source). It makes the venv run_autograder grades with, /autograder/venv,
# from the pinned requirements.txt: nothing is downloaded when a submission is graded.
# $AUTOGRADER_ROOT replaces /autograder (a test runs this in a temporary tree).
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
SOURCE="$ROOT/source"
VENV="$ROOT/venv"
# the CPU build of torch: Gradescope's machines have no GPU (pip still finds every other package on PyPI)
export PIP_EXTRA_INDEX_URL="${PIP_EXTRA_INDEX_URL:-https://download.pytorch.org/whl/cpu}"

recent_enough() {  # a Python 3.11 or newer
    "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1
}

apt_install() {
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
}

# 1. Python >= 3.11: the image's own when recent enough, else Ubuntu's python3.11 (or the deadsnakes PPA's)
PYTHON=""
for candidate in python3.11 python3.12 python3.13 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && recent_enough "$candidate"; then
        PYTHON="$candidate"
        break
    fi
done
if [ -z "$PYTHON" ]; then
    apt-get update
    if ! apt_install python3.11 python3.11-venv; then
        apt_install software-properties-common
        add-apt-repository -y ppa:deadsnakes/ppa
        apt-get update
        apt_install python3.11 python3.11-venv
    fi
    PYTHON=python3.11
fi
# Debian and Ubuntu ship venv's pip bootstrap separately (python3.X-venv)
if ! "$PYTHON" -c 'import ensurepip' >/dev/null 2>&1; then
    apt-get update
    apt_install "python$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')-venv"
fi

# 2. the venv, with the pinned requirements
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$SOURCE/requirements.txt"

# 3. fail the image build now rather than at the first submission
cd "$SOURCE"
"$VENV/bin/python" -c 'import torch, autograder.judge, autograder.plugin, autograder.gradescope'
echo "autograder ready: $("$VENV/bin/python" --version), torch $("$VENV/bin/python" -c 'import torch; print(torch.__version__)')"
