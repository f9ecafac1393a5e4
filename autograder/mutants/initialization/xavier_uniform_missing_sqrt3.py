# wrong: the uniform bound is the std itself; U(-a, a) has std a/sqrt(3), so the bound must be sqrt(3) * std
# hint: sqrt(3)
# caught by: xavier_uniform_(torch.empty(400, 600)): std 0.0258 instead of 0.0447, max |w| 0.0447 instead of 0.0775; differs from torch with the same generator
def xavier_uniform_(tensor, gain=1.0, generator=None):
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    with torch.no_grad():
        return tensor.uniform_(-std, std, generator=generator)
