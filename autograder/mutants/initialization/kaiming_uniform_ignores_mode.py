# wrong: kaiming_uniform_ always uses fan_in, whatever `mode` says
# hint: mode
# caught by: kaiming_uniform_(torch.empty(30, 70), mode="fan_out"): bound sqrt(6/70) = 0.293 instead of sqrt(6/30) = 0.447
def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    _calculate_correct_fan(tensor, mode)  # validates mode ...
    fan, _ = calculate_fan_in_and_fan_out(tensor)  # ... but always uses fan_in
    gain = calculate_gain(nonlinearity, a)
    std = gain / math.sqrt(fan)
    bound = math.sqrt(3.0) * std
    with torch.no_grad():
        return tensor.uniform_(-bound, bound, generator=generator)
