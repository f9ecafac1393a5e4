# wrong: a target that matches no nn.Linear is silently ignored instead of raising ValueError
# caught by: apply_lora(model, ["fc", "nope"]) must raise ValueError naming 'nope'
def apply_lora(model, target, r=8, alpha=16.0):
    targets = [target] if isinstance(target, str) else list(target)

    def matches(name, t):
        return name == t or name.endswith("." + t)

    hits = [(name, module) for name, module in model.named_modules(remove_duplicate=False)
            if isinstance(module, nn.Linear) and any(matches(name, t) for t in targets)]
    freeze(model)
    wrappers = {}
    for name, module in hits:
        if id(module) not in wrappers:
            wrappers[id(module)] = LoRALinear(module, r=r, alpha=alpha)
        parent, child = _split_attr(model, name)
        setattr(parent, child, wrappers[id(module)])
    return model
