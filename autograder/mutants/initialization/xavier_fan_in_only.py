# wrong: Xavier std uses fan_in only (sqrt(1/fan_in)) instead of averaging both fans (sqrt(2/(fan_in+fan_out)))
# hint: fan_in + fan_out
# caught by: xavier_normal_(torch.empty(30, 70)): std 0.1195 instead of 0.1414 (any non-square tensor)
def xavier_normal_(tensor, gain=1.0, generator=None):
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(1.0 / float(fan_in))
    with torch.no_grad():
        return tensor.normal_(0.0, std, generator=generator)
