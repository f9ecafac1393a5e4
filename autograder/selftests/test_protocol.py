"""The wire format: every value the tests need survives a round trip; garbage is refused cleanly."""
import socket

import pytest
import torch

from autograder import protocol


def round_trip(value):
    data, enc = protocol.pack(value, lambda obj: {"__ref__": 1, "kind": type(obj).__name__})
    a, b = socket.socketpair()
    protocol.send_message(a, {"value": data, "blobs": len(enc.blobs)}, enc.blobs)
    header, blobs = protocol.recv_message(b)
    return protocol.Decoder(blobs, lambda ref: ("ref", ref["kind"])).decode(header["value"])


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.complex64,
                                   torch.int64, torch.int32, torch.uint8, torch.bool])
def test_tensors_round_trip_bit_for_bit(dtype):
    t = (torch.randn(3, 4) * 100).to(dtype)
    out = round_trip(t)
    assert out.dtype == dtype and out.shape == t.shape and torch.equal(out, t)


def test_odd_tensors_round_trip():
    for t in (torch.tensor(3.5), torch.empty(0, 4), torch.randn(4, 6)[:, ::2], torch.randn(2, 3).T):
        assert torch.equal(round_trip(t), t)
    p = torch.nn.Parameter(torch.randn(2))
    out = round_trip(p)
    assert isinstance(out, torch.nn.Parameter) and out.requires_grad
    assert round_trip(torch.ones(2, requires_grad=True)).requires_grad


def test_plain_values_round_trip():
    value = {"a": [1, 2.5, None, True, "s"], "t": (1, (2, 3)), "inf": float("inf"), "dtype": torch.float64,
             "device": torch.device("cpu"), "size": torch.Size([2, 3]), "slice": slice(1, None, 2),
             "int keys": {0: "x", 1: "y"}}
    out = round_trip(value)
    assert out["a"] == [1, 2.5, None, True, "s"] and out["t"] == (1, (2, 3)) and out["inf"] == float("inf")
    assert out["dtype"] is torch.float64 and out["size"] == torch.Size([2, 3]) and out["slice"] == slice(1, None, 2)
    assert out["int keys"] == {0: "x", 1: "y"}


def test_same_tensor_twice_arrives_as_one_object():
    t = torch.randn(3)
    a, b = round_trip([t, t])
    assert a is b


def test_generator_state_travels():
    g = torch.Generator().manual_seed(123)
    g2 = round_trip(g)
    assert torch.equal(torch.rand(5, generator=g), torch.rand(5, generator=g2))


def test_other_objects_become_references():
    assert round_trip(object()) == ("ref", "object")


def test_malformed_frames_raise_protocol_error():
    a, b = socket.socketpair()
    a.sendall(b"\x05\x00\x00\x00notjs")
    with pytest.raises(protocol.ProtocolError):
        protocol.recv_message(b)
    data, enc = protocol.pack(torch.ones(4), None)
    data["shape"] = [5]
    with pytest.raises(protocol.ProtocolError, match="expected"):
        protocol.Decoder(enc.blobs, None).decode(data)
    with pytest.raises(protocol.ProtocolError):
        protocol.Decoder([], None).decode({"__dtype__": "object"})


# --------------------------------------------------------------------------- what a receiver accepts

def test_deadline_is_absolute_for_a_slow_drip():
    """A sender that trickles one byte before each socket timeout would fire still meets the deadline."""
    import threading
    import time

    a, b = socket.socketpair()

    def drip():
        for byte in b"\xff\x00\x00\x00" + b" " * 255:
            try:
                a.send(bytes([byte]))
            except OSError:
                return
            time.sleep(0.05)

    threading.Thread(target=drip, daemon=True).start()
    start = time.monotonic()
    with pytest.raises(socket.timeout):
        protocol.recv_message(b, deadline=start + 0.5)
    assert time.monotonic() - start < 2.0
    a.close()


@pytest.mark.parametrize("caps,payload,match", [
    (protocol.Caps(total_bytes=1000), [torch.zeros(1000)], "over the limit of 1000 bytes"),
    (protocol.Caps(blobs=3), [torch.zeros(1)] * 1 + [torch.ones(1), torch.ones(2), torch.ones(3)], "over the limit of 3"),
    (protocol.Caps(total_bytes=50), "x" * 100, "header of"),
])
def test_replies_over_the_caps_are_refused(caps, payload, match):
    data, enc = protocol.pack(payload, None)
    a, b = socket.socketpair()
    protocol.send_message(a, {"value": data, "blobs": len(enc.blobs)}, enc.blobs)
    with pytest.raises(protocol.ProtocolError, match=match):
        protocol.recv_message(b, caps=caps)


def test_deep_nesting_is_refused():
    deep = [[[[[[1]]]]]]
    data, enc = protocol.pack(deep, None)
    assert protocol.Decoder(enc.blobs, None, max_depth=10).decode(data) == deep
    with pytest.raises(protocol.ProtocolError, match="nested deeper"):
        protocol.Decoder(enc.blobs, None, max_depth=3).decode(data)
    a, b = socket.socketpair()
    body = b"[" * 20000 + b"]" * 20000
    a.sendall(len(body).to_bytes(4, "little") + body)
    with pytest.raises(protocol.ProtocolError):
        protocol.recv_message(b)


def test_only_tensors_marked_in_out_say_so():
    plain, marked = torch.zeros(2), torch.zeros(3)
    setattr(marked, protocol.INOUT, True)
    data, enc = protocol.pack([plain, marked], None)
    decoder = protocol.Decoder(enc.blobs, None)
    decoder.decode(data)
    assert [index for index, _ in decoder.inout] == [1]
