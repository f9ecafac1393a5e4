# attack: sends a reply one byte at a time, each byte before the socket's timeout would fire
# layer: per-request deadlines are absolute
# imports: os, sys, struct, time
# expect: softmax=timeout
import os as _os
import struct as _struct
import sys as _sys
import time as _time

_FD = int(_sys.argv[-1])


def softmax(x, dim=-1):
    for byte in _struct.pack("<I", 1000) + b" " * 1000:
        _os.write(_FD, bytes([byte]))
        _time.sleep(1.0)
