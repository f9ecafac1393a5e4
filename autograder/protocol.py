"""The only thing the judge and the worker share: message framing and value encoding.

A message is one frame on a stream socket::

    [4 bytes: header length][header: UTF-8 JSON][for each blob: 8 bytes length + raw bytes]

The JSON header carries plain data. Tensors travel as raw bytes plus a dtype/shape
header (``{"__tensor__": blob_index, ...}``); objects that are not plain data stay
on the side that owns them and travel as references (``{"__ref__": id}``). Nothing
is ever unpickled: a malformed frame raises :class:`ProtocolError`, nothing else.

A receiver states what it accepts (:class:`Caps`: total bytes, blob count, nesting depth)
and when it stops waiting (an absolute deadline: a reply sent one byte at a time gets no
more time than one sent at once).

A tensor the judge marks as *in-out* (``impl.inout``) is the only kind whose in-place
changes travel back: the worker returns its new value, and returning it returns the
caller's own object. Every other argument is a copy as far as the caller is concerned.
"""
from __future__ import annotations

import json
import socket
import struct
import time
from dataclasses import dataclass
from typing import Any, Callable

import torch

INOUT = "_autograder_inout"  # attribute that marks a judge-side tensor as in-out


@dataclass(frozen=True)
class Caps:
    """The most a receiver accepts in one message."""

    total_bytes: int = 256 * 1024 * 1024   # header and blobs together
    blobs: int = 4096
    depth: int = 64                         # nesting of lists, tuples and dicts


UNCAPPED = Caps(total_bytes=1 << 62, blobs=1 << 30, depth=1000)

_DTYPES = {
    str(dt).removeprefix("torch."): dt
    for dt in (
        torch.float16, torch.bfloat16, torch.float32, torch.float64,
        torch.complex64, torch.complex128,
        torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64, torch.bool,
    )
}


class ProtocolError(Exception):
    """The other side sent something that is not a well-formed message."""


# --------------------------------------------------------------------------- framing

def _recv_exactly(sock: socket.socket, n: int, deadline: float | None) -> bytearray:
    """``n`` bytes, waiting no later than ``deadline`` (``time.monotonic()``) in all."""
    buffer = bytearray(n)
    view = memoryview(buffer)
    got = 0
    while got < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("deadline passed")
            sock.settimeout(left)
        count = sock.recv_into(view[got:], min(n - got, 1 << 24))
        if not count:
            raise EOFError("connection closed")
        got += count
    return buffer


def send_message(sock: socket.socket, header: dict, blobs: list[bytes]) -> None:
    body = json.dumps(header, allow_nan=True).encode()
    parts = [struct.pack("<I", len(body)), body]
    for blob in blobs:
        parts.append(struct.pack("<Q", len(blob)))
        parts.append(blob)
    sock.sendall(b"".join(parts))


def recv_message(sock: socket.socket, deadline: float | None = None,
                 caps: Caps = UNCAPPED) -> tuple[dict, list[bytearray]]:
    (size,) = struct.unpack("<I", _recv_exactly(sock, 4, deadline))
    budget = caps.total_bytes - size
    if budget < 0:
        raise ProtocolError(f"a header of {size} bytes is over the limit of {caps.total_bytes} bytes")
    try:
        header = json.loads(_recv_exactly(sock, size, deadline))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ProtocolError(f"header is not JSON: {type(exc).__name__}") from None
    if not isinstance(header, dict) or not isinstance(header.get("blobs", 0), int) or header.get("blobs", 0) < 0:
        raise ProtocolError("header is not a JSON object with a blob count")
    if header.get("blobs", 0) > caps.blobs:
        raise ProtocolError(f"{header['blobs']} tensors in one message, over the limit of {caps.blobs}")
    blobs = []
    for _ in range(header.get("blobs", 0)):
        (n,) = struct.unpack("<Q", _recv_exactly(sock, 8, deadline))
        budget -= n
        if budget < 0:
            raise ProtocolError(f"the message is over the limit of {caps.total_bytes} bytes")
        blobs.append(_recv_exactly(sock, n, deadline))
    return header, blobs


# --------------------------------------------------------------------------- values

class Encoder:
    """Turns a value into JSON-able data plus a list of blobs.

    ``as_ref`` decides what to do with values that are not plain data: it returns a
    JSON-able stand-in (a reference) or raises ``TypeError``.
    """

    def __init__(self, as_ref: Callable[[Any], Any], tensor_ref: Callable[[torch.Tensor], Any] | None = None):
        self.as_ref = as_ref
        self.tensor_ref = tensor_ref  # may answer a tensor with a stand-in (e.g. "the caller's argument 2")
        self.blobs: list[bytes] = []
        self.tensors: list[torch.Tensor] = []  # the encoded tensors, in blob order
        self._seen: dict[int, dict] = {}  # id(tensor) -> header: a tensor passed twice arrives as one

    def encode(self, value: Any) -> Any:
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, int):
            return value
        if isinstance(value, float):
            if value != value or value in (float("inf"), float("-inf")):
                return {"__float__": repr(value)}
            return value
        if isinstance(value, torch.Tensor):
            stand_in = self.tensor_ref(value) if self.tensor_ref else None
            return stand_in if stand_in is not None else self._tensor(value)
        if isinstance(value, torch.dtype):
            return {"__dtype__": str(value).removeprefix("torch.")}
        if isinstance(value, torch.device):
            return {"__device__": str(value)}
        if isinstance(value, torch.Size):
            return {"__size__": list(value)}
        if isinstance(value, torch.Generator):
            return {"__generator__": self._tensor(value.get_state()), "device": str(value.device)}
        if isinstance(value, slice):
            return {"__slice__": [self.encode(value.start), self.encode(value.stop), self.encode(value.step)]}
        if isinstance(value, tuple) and not hasattr(value, "_fields"):
            return {"__tuple__": [self.encode(v) for v in value]}
        if isinstance(value, list):
            return [self.encode(v) for v in value]
        if isinstance(value, dict) and all(isinstance(k, str) for k in value):
            return {"__dict__": [[k, self.encode(v)] for k, v in value.items()]}
        if isinstance(value, dict):
            return {"__pairs__": [[self.encode(k), self.encode(v)] for k, v in value.items()]}
        return self.as_ref(value)

    def encode_tensor(self, t: torch.Tensor) -> dict:
        """A tensor by value, whatever ``tensor_ref`` would say."""
        return self._tensor(t)

    def _tensor(self, t: torch.Tensor) -> dict:
        if id(t) in self._seen:
            return self._seen[id(t)]
        if t.is_sparse or t.layout != torch.strided:
            raise TypeError("only dense tensors can be sent")
        dtype = str(t.dtype).removeprefix("torch.")
        if dtype not in _DTYPES:
            raise TypeError(f"tensors of dtype {t.dtype} cannot be sent")
        data = t.detach().to("cpu").contiguous()
        raw = data.reshape(-1).view(torch.uint8).numpy().tobytes() if data.numel() else b""
        self.blobs.append(raw)
        self.tensors.append(t)
        self._seen[id(t)] = header = {
            "__tensor__": len(self.blobs) - 1,
            "dtype": dtype,
            "shape": list(t.shape),
            "device": str(t.device),
            "requires_grad": bool(t.requires_grad),
            "parameter": isinstance(t, torch.nn.Parameter),
        }
        if getattr(t, INOUT, False):
            header["inout"] = True
        return header


class Decoder:
    """Inverse of :class:`Encoder`. ``from_ref`` resolves references."""

    def __init__(self, blobs: list[bytes], from_ref: Callable[[dict], Any], device_map: Callable[[str], str] = str,
                 max_depth: int = UNCAPPED.depth):
        self.blobs = blobs
        self.from_ref = from_ref
        self.device_map = device_map
        self.max_depth = max_depth
        self.inout: list[tuple[int, torch.Tensor]] = []  # (blob index, decoded tensor) of in-out tensors
        self._seen: dict[int, torch.Tensor] = {}

    def decode(self, data: Any, depth: int = 0) -> Any:
        if data is None or isinstance(data, (bool, int, float, str)):
            return data
        if depth > self.max_depth:
            raise ProtocolError(f"values nested deeper than {self.max_depth} levels")
        if isinstance(data, list):
            return [self.decode(v, depth + 1) for v in data]
        if not isinstance(data, dict) or len(data) == 0:
            raise ProtocolError(f"unexpected value {type(data).__name__}")
        if "__tensor__" in data:
            return self._tensor(data)
        if "__float__" in data:
            return float(data["__float__"])
        if "__dtype__" in data:
            if data["__dtype__"] not in _DTYPES:
                raise ProtocolError(f"unknown dtype {data['__dtype__']!r}")
            return _DTYPES[data["__dtype__"]]
        if "__device__" in data:
            return torch.device(data["__device__"])
        if "__size__" in data:
            return torch.Size(int(v) for v in data["__size__"])
        if "__generator__" in data:
            state = self._tensor(data["__generator__"])
            gen = torch.Generator(device=self.device_map(data["device"]))
            gen.set_state(state)
            return gen
        depth += 1
        if "__slice__" in data:
            return slice(*(self.decode(v, depth) for v in data["__slice__"]))
        if "__tuple__" in data:
            return tuple(self.decode(v, depth) for v in data["__tuple__"])
        if "__dict__" in data:
            return {str(k): self.decode(v, depth) for k, v in data["__dict__"]}
        if "__pairs__" in data:
            return {self.decode(k, depth): self.decode(v, depth) for k, v in data["__pairs__"]}
        return self.from_ref(data)

    def _tensor(self, data: dict) -> torch.Tensor:
        try:
            index = data["__tensor__"]
            dtype = _DTYPES[data["dtype"]]
            shape = [int(s) for s in data["shape"]]
            if index in self._seen:
                return self._seen[index]
            raw = self.blobs[index]
        except (KeyError, IndexError, TypeError, ValueError):
            raise ProtocolError("malformed tensor header") from None
        numel = 1
        for s in shape:
            numel *= s
        itemsize = torch.empty((), dtype=dtype).element_size()
        if len(raw) != numel * itemsize:
            raise ProtocolError(f"tensor blob has {len(raw)} bytes, expected {numel * itemsize}")
        if numel == 0:
            t = torch.empty(shape, dtype=dtype)
        else:
            t = torch.frombuffer(raw if isinstance(raw, bytearray) else bytearray(raw),
                                 dtype=torch.uint8).view(dtype).reshape(shape)
        device = self.device_map(data.get("device", "cpu"))
        if device != "cpu":
            t = t.to(device)
        if data.get("parameter"):
            t = torch.nn.Parameter(t, requires_grad=bool(data.get("requires_grad")))
        elif data.get("requires_grad") and (t.is_floating_point() or t.is_complex()):
            t.requires_grad_(True)
        if data.get("inout"):
            self.inout.append((index, t))
        self._seen[index] = t
        return t


def pack(value: Any, as_ref: Callable[[Any], Any],
         tensor_ref: Callable[[torch.Tensor], Any] | None = None) -> tuple[Any, Encoder]:
    enc = Encoder(as_ref, tensor_ref)
    return enc.encode(value), enc
