# wrong: activation_std_by_layer computes in the default float32, so normal01 overflows to inf and small underflows to 0 by depth 50
# hint: float64
# caught by: activation_std_by_layer(50, 256, "normal01", "linear", n=256, seed=2): the stds after layer ~32 are inf/nan
def activation_std_by_layer(depth, width, init, nonlinearity, n=1024, seed=0):
    if init not in _INITS:
        raise ValueError(f"init must be one of {list(_INITS)}, got {init!r}")
    if nonlinearity not in _NONLINEARITIES:
        raise ValueError(f"nonlinearity must be one of {list(_NONLINEARITIES)}, got {nonlinearity!r}")
    for name, value in (("depth", depth), ("width", width), ("n", n)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    g = torch.Generator().manual_seed(seed)
    stds = []
    with torch.no_grad():
        h = torch.randn(n, width, generator=g)
        for _ in range(depth):
            W = torch.empty(width, width)
            if init == "kaiming":
                kaiming_normal_(W, mode="fan_in", nonlinearity=nonlinearity, generator=g)
            elif init == "xavier":
                xavier_normal_(W, gain=1.0, generator=g)
            elif init == "normal01":
                W.normal_(0.0, 1.0, generator=g)
            else:
                W.normal_(0.0, 0.01, generator=g)
            h = h @ W.T
            if nonlinearity == "relu":
                h = h.clamp_min(0)
            elif nonlinearity == "tanh":
                h = torch.tanh(h)
            stds.append(h.std().item())
    return stds
