# attack: keeps state between workers and between grades in /tmp and /dev/shm, to replay answers
# layer: every worker gets a fresh private /tmp; /dev/shm does not exist in the jail
# imports: os
# needs: namespaces
import os as _os

for _directory in ("/tmp", "/dev/shm", "/var/tmp"):
    try:
        _fd = _os.open(f"{_directory}/autograder-attack-marker", _os.O_WRONLY | _os.O_CREAT, 0o644)
        _os.write(_fd, b"replayed answers")
        _os.close(_fd)
    except OSError:
        pass


def softmax(x, dim=-1):
    if _os.path.exists("/tmp/autograder-attack-marker-2"):
        raise RuntimeError("state survived from an earlier worker")
    _os.close(_os.open("/tmp/autograder-attack-marker-2", _os.O_WRONLY | _os.O_CREAT, 0o644))
    return x
