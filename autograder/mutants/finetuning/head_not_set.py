# wrong: replace_head builds and returns the new head but never sets it on the model
# caught by: after replace_head(model, 3), model.fc is not the returned layer and model(x) still has 6 outputs
def replace_head(model, num_classes, attr="fc"):
    parent, name = _split_attr(model, attr)
    head = getattr(parent, name)
    if not isinstance(head, nn.Linear):
        raise TypeError(f"attr {attr!r} must name an nn.Linear head (got {type(head).__name__})")
    head = nn.Linear(head.in_features, num_classes, device=head.weight.device, dtype=head.weight.dtype)
    return head
