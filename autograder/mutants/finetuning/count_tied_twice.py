# wrong: count_parameters sums each submodule's own parameters, so a tied (shared) weight counts twice
# hint: shared
# caught by: nn.Embedding(10, 6) and nn.Linear(6, 10) whose weight is the embedding's: 70 expected, 130 counted
def count_parameters(module, trainable_only=True):
    return sum(p.numel() for m in module.modules() for p in m.parameters(recurse=False)
               if p.requires_grad or not trainable_only)
