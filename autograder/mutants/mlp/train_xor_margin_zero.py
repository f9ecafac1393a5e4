# wrong: training stops as soon as every point is classified (signed logit > 0) instead of > 2
# hint: margin 0
# caught by: train_xor(seed=0, steps=300)'s logits vs the documented recipe recomputed with torch (stops earlier, smaller margins)
# uses: _train_xor.py
def train_xor(hidden=8, steps=2000, lr=0.1, seed=0):
    return _train_xor_variant(hidden, steps, lr, seed, margin=0.0)
