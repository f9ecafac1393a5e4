# wrong: the new head is a plain nn.Linear(in, n): float32 on the CPU, whatever the model's dtype/device
# hint: dtype
# caught by: replace_head on a float64 model: head weight is float32 (and the forward pass fails)
def replace_head(model, num_classes, attr="fc"):
    parent, name = _split_attr(model, attr)
    old = getattr(parent, name)
    if not isinstance(old, nn.Linear):
        raise TypeError(f"attr {attr!r} must name an nn.Linear head (got {type(old).__name__})")
    new = nn.Linear(old.in_features, num_classes)
    setattr(parent, name, new)
    return new
