# wrong: apply_lora matches with name.endswith(target), so "proj" also wraps "out_proj" (not whole name parts)
# hint: whole name parts
# caught by: a model with layers "proj" and "out_proj", target ["proj"]: out_proj must stay a plain nn.Linear
def apply_lora(model, target, r=8, alpha=16.0):
    targets = [target] if isinstance(target, str) else list(target)
    hits = [(name, module) for name, module in model.named_modules(remove_duplicate=False)
            if isinstance(module, nn.Linear) and any(name.endswith(t) for t in targets)]
    missing = [t for t in targets if not any(name.endswith(t) for name, _ in hits)]
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
