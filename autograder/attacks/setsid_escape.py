# attack: a daemon that leaves the worker's session and outlives it
# layer: PID namespace: everything dies with the jail's init
# imports: os, time
# needs: namespaces
import os as _os
import time as _time

if _os.fork() == 0:
    _os.setsid()
    if _os.fork() == 0:
        while True:
            _time.sleep(1)
    _os._exit(0)
