# wrong: calls torch.nn.functional.dropout (forbidden) instead of building the mask
# hint: torch.nn.functional.dropout is one of the calls this topic forbids
# caught by: the forbidden-call scan and runtime guard; also ignores generator= (equal seeds, different masks)
def dropout(x, p=0.5, training=True, generator=None):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability p has to be between 0 and 1, but got {p}")
    return torch.nn.functional.dropout(x, p, training)
