# wrong: apply_lora wraps the targets but leaves the rest of the model trainable
# hint: requires_grad
# caught by: apply_lora(SmallResNet(), ["fc"]): conv1.weight.requires_grad is True, count_parameters != 8*64 + 6*8
def apply_lora(model, target, r=8, alpha=16.0):
    targets = [target] if isinstance(target, str) else list(target)

    def matches(name, t):
        return name == t or name.endswith("." + t)

    hits = [(name, module) for name, module in model.named_modules(remove_duplicate=False)
            if isinstance(module, nn.Linear) and any(matches(name, t) for t in targets)]
    missing = [t for t in targets if not any(matches(name, t) for name, _ in hits)]
    if missing:
        raise ValueError(f"target {missing[0]!r} matches no nn.Linear in the model")
    wrappers = {}
    for name, module in hits:
        if id(module) not in wrappers:
            wrappers[id(module)] = LoRALinear(module, r=r, alpha=alpha)
        parent, child = _split_attr(model, name)
        setattr(parent, child, wrappers[id(module)])
    return model
