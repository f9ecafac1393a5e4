# wrong: torch.manual_seed(seed) is called on the global RNG without fork_rng, so the caller's RNG state is reset
# hint: global RNG
# caught by: the global RNG state after train_xor(seed=3) differs from the state before the call
# uses: _train_xor.py
def train_xor(hidden=8, steps=2000, lr=0.1, seed=0):
    return _train_xor_variant(hidden, steps, lr, seed, seeding="global")
