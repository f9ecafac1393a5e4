# attack: leaves the process in every way: os._exit, sys.exit, a SIGKILL to itself
# layer: a crash of the worker is an error of that test only
# imports: os, sys, signal
import os as _os
import signal as _signal
import sys as _sys


def softmax(x, dim=-1):
    _os._exit(0)


def causal_mask(length, device=None):
    _sys.exit(0)


def scaled_dot_product_attention(q, k, v, mask=None, is_causal=False):
    _os.kill(_os.getpid(), _signal.SIGKILL)
