# wrong: the XOR model has no hidden nonlinearity (Linear -> Linear is still linear), so it cannot separate XOR
# hint: nonlinearity
# caught by: train_xor(seed=0) misclassifies at least one of the 4 XOR points (a linear model gets at most 3 right)
# uses: _train_xor.py
def train_xor(hidden=8, steps=2000, lr=0.1, seed=0):
    return _train_xor_variant(hidden, steps, lr, seed, activation=nn.Identity)
