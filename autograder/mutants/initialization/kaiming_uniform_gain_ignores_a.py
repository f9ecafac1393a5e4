# wrong: kaiming_uniform_ computes the gain without `a` (calculate_gain(nonlinearity)), so leaky_relu always gets slope 0.01
# hint: negative slope
# caught by: kaiming_uniform_(torch.empty(300, 400), a=math.sqrt(5)) (nn.Linear's init): bound 0.122 instead of 0.05
def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    gain = calculate_gain(nonlinearity)
    std = gain / math.sqrt(fan)
    bound = math.sqrt(3.0) * std
    with torch.no_grad():
        return tensor.uniform_(-bound, bound, generator=generator)
