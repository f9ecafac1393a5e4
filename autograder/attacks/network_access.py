# attack: opens network connections (to fetch answers or leak tests)
# layer: network namespace: no interface but a loopback that is down
# imports: socket
# needs: namespaces
import socket as _socket

_LEAK = []
for _address in (("1.1.1.1", 53), ("127.0.0.1", 22), ("pypi.org", 443)):
    try:
        _socket.create_connection(_address, timeout=1).close()
        _LEAK.append(_address)
    except OSError:
        pass


def softmax(x, dim=-1):
    if _LEAK:
        raise RuntimeError(f"connected to {_LEAK}")
    return x
