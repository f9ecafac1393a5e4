# wrong: `seed` is ignored and the global RNG is used, so the result changes from call to call
# hint: deterministic
# caught by: activation_std_by_layer(5, 64, "kaiming", "tanh", seed=4) called twice returns different lists
def activation_std_by_layer(depth, width, init, nonlinearity, n=1024, seed=0):
    if init not in _INITS:
        raise ValueError(f"init must be one of {list(_INITS)}, got {init!r}")
    if nonlinearity not in _NONLINEARITIES:
        raise ValueError(f"nonlinearity must be one of {list(_NONLINEARITIES)}, got {nonlinearity!r}")
    for name, value in (("depth", depth), ("width", width), ("n", n)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    stds = []
    with torch.no_grad():
        h = torch.randn(n, width, dtype=torch.float64)
        for _ in range(depth):
            W = torch.empty(width, width, dtype=torch.float64)
            if init == "kaiming":
                kaiming_normal_(W, mode="fan_in", nonlinearity=nonlinearity)
            elif init == "xavier":
                xavier_normal_(W, gain=1.0)
            elif init == "normal01":
                W.normal_(0.0, 1.0)
            else:
                W.normal_(0.0, 0.01)
            h = h @ W.T
            if nonlinearity == "relu":
                h = h.clamp_min(0)
            elif nonlinearity == "tanh":
                h = torch.tanh(h)
            stds.append(h.std().item())
    return stds
