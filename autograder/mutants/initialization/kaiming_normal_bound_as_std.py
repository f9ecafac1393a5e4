# wrong: kaiming_normal_ uses the uniform bound sqrt(3) * gain / sqrt(fan) as the normal's std
# hint: sqrt(3)
# caught by: kaiming_normal_(torch.empty(400, 600)): std 0.100 instead of 0.0577 (1.73x); differs from torch with the same generator
def kaiming_normal_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    gain = calculate_gain(nonlinearity, a)
    std = math.sqrt(3.0) * gain / math.sqrt(fan)
    with torch.no_grad():
        return tensor.normal_(0.0, std, generator=generator)
