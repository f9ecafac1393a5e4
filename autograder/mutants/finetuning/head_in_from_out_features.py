# wrong: the new head takes the old head's out_features as its in_features
# caught by: SmallResNet(num_classes=6).fc is Linear(64, 6): the new head must be Linear(64, n), got Linear(6, n)
def replace_head(model, num_classes, attr="fc"):
    parent, name = _split_attr(model, attr)
    old = getattr(parent, name)
    if not isinstance(old, nn.Linear):
        raise TypeError(f"attr {attr!r} must name an nn.Linear head (got {type(old).__name__})")
    new = nn.Linear(old.out_features, num_classes, device=old.weight.device, dtype=old.weight.dtype)
    setattr(parent, name, new)
    return new
