# wrong: only layers whose type is exactly nn.Linear are matched (type(m) is nn.Linear), so a subclass of nn.Linear (as nn.MultiheadAttention.out_proj) is not wrapped
# caught by: apply_lora(model, ["head", "body"]) where head is a subclass of nn.Linear
def apply_lora(model, target, r=8, alpha=16.0):
    targets = [target] if isinstance(target, str) else list(target)

    def matches(name, t):
        return name == t or name.endswith("." + t)

    hits = [(name, module) for name, module in model.named_modules(remove_duplicate=False)
            if type(module) is nn.Linear and any(matches(name, t) for t in targets)]
    missing = [t for t in targets if not any(matches(name, t) for name, _ in hits)]
    if missing:
        raise ValueError(f"target {missing[0]!r} matches no nn.Linear in the model")
    names = {}
    for name, module in model.named_modules(remove_duplicate=False):
        names.setdefault(id(module), []).append(name)
    freeze(model)
    wrappers = {}
    for _, module in hits:
        if id(module) not in wrappers:
            wrappers[id(module)] = LoRALinear(module, r=r, alpha=alpha)
            for name in names[id(module)]:
                parent, child = _split_attr(model, name)
                setattr(parent, child, wrappers[id(module)])
    return model
