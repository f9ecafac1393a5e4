# wrong: apply_lora only looks at direct children (model.named_children), so nested layers like "blocks.0.fc" are missed
# hint: nested layers
# caught by: a model with "fc" and "blocks.0.fc", target ["fc"]: blocks.0.fc must be a LoRALinear too
def apply_lora(model, target, r=8, alpha=16.0):
    targets = [target] if isinstance(target, str) else list(target)
    hits = [(name, module) for name, module in model.named_children()
            if isinstance(module, nn.Linear) and name in targets]
    missing = [t for t in targets if not any(name == t for name, _ in hits)]
    if missing:
        raise ValueError(f"target {missing[0]!r} matches no nn.Linear in the model")
    freeze(model)
    for name, module in hits:
        setattr(model, name, LoRALinear(module, r=r, alpha=alpha))
    return model
