# A shared part, not a variant (its name starts with "_"): appended before the variants that say
# "# uses: _train_xor.py", so each of them states only the one thing it gets wrong.
import contextlib


def _train_xor_variant(hidden, steps, lr, seed, *, activation=nn.Tanh, margin=2.0, seeding="fork"):
    """``train_xor``'s documented recipe with the knobs its known-wrong variants turn.

    activation: the hidden nonlinearity (documented: ``nn.Tanh``).
    margin: stop once every signed logit is > margin (documented: 2); ``None`` never stops early.
    seeding: ``"fork"`` (documented: ``torch.manual_seed(seed)`` inside ``fork_rng``), ``"global"``
        (``torch.manual_seed(seed)`` on the caller's RNG) or ``None`` (the seed ignored).
    """
    X = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = torch.tensor([[0.0], [1.0], [1.0], [0.0]])
    with torch.random.fork_rng(devices=[]) if seeding == "fork" else contextlib.nullcontext():
        if seeding is not None:
            torch.manual_seed(seed)
        model = build_mlp([2, hidden, 1], activation=activation)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        logits = model(X)
        if margin is not None and ((2 * y - 1) * logits).min().item() > margin:
            break
        loss = F.binary_cross_entropy_with_logits(logits, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model
