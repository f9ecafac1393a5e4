# wrong: an unmatched target raises only when no target matches at all (PEFT's rule); apply_lora(model, ["fc", "nope"]) wraps fc silently
# caught by: apply_lora(model, ["fc", "nope"]) must raise ValueError and leave the model unchanged
def apply_lora(model, target, r=8, alpha=16.0):
    targets = [target] if isinstance(target, str) else list(target)

    def matches(name, t):
        return name == t or name.endswith("." + t)

    hits = [(name, module) for name, module in model.named_modules(remove_duplicate=False)
            if isinstance(module, nn.Linear) and any(matches(name, t) for t in targets)]
    if not hits:
        raise ValueError(f"no target of {targets} matches an nn.Linear in the model")
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
