# attack: takes the original torch.softmax back from the guard's wrapper (__wrapped__, __closure__)
# layer: static scan rejects double-underscore attributes
# expect: softmax=forbidden causal_mask=forbidden
def softmax(x, dim=-1):
    original = torch.softmax.__wrapped__
    return original(x, dim)


def causal_mask(length, device=None):
    cell = torch.softmax.__closure__[0].cell_contents
    return cell
