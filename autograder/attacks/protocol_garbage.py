# attack: writes forged and malformed frames on the protocol socket (a header claiming 3 GiB, bad JSON)
# layer: replies are capped and parsed strictly; a malformed one is a crash of that test
# imports: os, sys, struct
import os as _os
import struct as _struct
import sys as _sys

_FD = int(_sys.argv[-1])


def softmax(x, dim=-1):
    _os.write(_FD, _struct.pack("<I", 3 << 30) + b"{" * 1000)
    return x


def causal_mask(length, device=None):
    body = b'{"ok": true, "value": ' + b"[" * 100000 + b"]" * 100000 + b', "blobs": 0}'
    _os.write(_FD, _struct.pack("<I", len(body)) + body)
    return torch.ones(length, length, dtype=torch.bool)
