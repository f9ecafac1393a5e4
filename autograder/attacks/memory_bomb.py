# attack: allocates far more memory than the machine has
# layer: memory limit of the worker (limits.memory_mb)
_hoard = []


def softmax(x, dim=-1):
    while True:
        _hoard.append(torch.ones(1 << 28, dtype=torch.float64))  # 2 GiB each


def causal_mask(length, device=None):
    return torch.empty(1 << 40, dtype=torch.bool)
