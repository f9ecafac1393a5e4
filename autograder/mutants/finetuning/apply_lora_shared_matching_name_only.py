# wrong: a shared layer is wrapped only under the name that matches the target; its other name keeps the plain layer, so the layer is no longer shared
# hint: set the same LoRALinear under every name it is registered under
# caught by: apply_lora(SharedNet, ["a"]) where model.b is model.a
def apply_lora(model, target, r=8, alpha=16.0):
    targets = [target] if isinstance(target, str) else list(target)

    def matches(name, t):
        return name == t or name.endswith("." + t)

    hits = [(name, module) for name, module in model.named_modules(remove_duplicate=False)
            if isinstance(module, nn.Linear) and any(matches(name, t) for t in targets)]
    missing = [t for t in targets if not any(matches(name, t) for name, _ in hits)]
    if missing:
        raise ValueError(f"target {missing[0]!r} matches no nn.Linear in the model")
    freeze(model)
    wrappers = {}
    for name, module in hits:
        if id(module) not in wrappers:
            wrappers[id(module)] = LoRALinear(module, r=r, alpha=alpha)
        parent, child = _split_attr(model, name)
        setattr(parent, child, wrappers[id(module)])
    return model
