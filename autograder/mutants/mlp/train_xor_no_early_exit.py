# wrong: training runs all `steps` Adam steps instead of stopping once every signed logit is > 2
# hint: never stops early
# caught by: train_xor(seed=0, steps=300)'s logits vs the documented recipe recomputed with torch (the margins grow far past 2)
# uses: _train_xor.py
def train_xor(hidden=8, steps=2000, lr=0.1, seed=0):
    return _train_xor_variant(hidden, steps, lr, seed, margin=None)
