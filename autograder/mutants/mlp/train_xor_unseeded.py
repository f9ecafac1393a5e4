# wrong: `seed` is ignored (the global RNG is used as is), so two calls with the same seed give different models
# hint: deterministic
# caught by: train_xor(seed=3) called twice returns models with different state_dicts
# uses: _train_xor.py
def train_xor(hidden=8, steps=2000, lr=0.1, seed=0):
    return _train_xor_variant(hidden, steps, lr, seed, seeding=None)
