# wrong: count_parameters counts frozen parameters too when trainable_only=True
# caught by: freeze(model) then count_parameters(model) is not 0
def count_parameters(module, trainable_only=True):
    return sum(p.numel() for p in module.parameters())
