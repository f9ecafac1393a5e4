# attack: kills its parent, its process group and every process it can signal
# layer: the worker's own user and PID namespace: the judge is out of reach
# imports: os, signal
# needs: full
import os as _os
import signal as _signal

for _target in (_os.getppid(), 1):
    try:
        _os.kill(_target, _signal.SIGKILL)
    except OSError:
        pass
try:
    _os.kill(-1, _signal.SIGKILL)
except OSError:
    pass
