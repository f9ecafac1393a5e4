# wrong: the XOR model uses ReLU hidden units instead of the documented tanh (solves most seeds, but is another model)
# hint: a ReLU hidden layer
# caught by: train_xor(seed=0)'s logits vs the documented recipe (build_mlp([2, hidden, 1], nn.Tanh)) recomputed with torch
# uses: _train_xor.py
def train_xor(hidden=8, steps=2000, lr=0.1, seed=0):
    return _train_xor_variant(hidden, steps, lr, seed, activation=nn.ReLU)
