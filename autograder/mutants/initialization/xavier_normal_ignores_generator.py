# wrong: the `generator` argument is not passed to the sampler, so the global RNG is used and a seeded generator has no effect
# hint: generator
# caught by: xavier_normal_(torch.empty(5, 7), generator=torch.Generator().manual_seed(0)) twice gives different tensors / differs from torch.nn.init.xavier_normal_ with the same generator
def xavier_normal_(tensor, gain=1.0, generator=None):
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    with torch.no_grad():
        return tensor.normal_(0.0, std)
