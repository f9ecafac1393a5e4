# wrong: the in-place fill is not wrapped in torch.no_grad(), so it fails on parameters (leaf tensors that require grad)
# hint: no_grad
# caught by: kaiming_normal_(nn.Parameter(torch.empty(20, 10))) raises "a leaf Variable that requires grad is being used in an in-place operation"
def kaiming_normal_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    gain = calculate_gain(nonlinearity, a)
    std = gain / math.sqrt(fan)
    return tensor.normal_(0.0, std, generator=generator)
