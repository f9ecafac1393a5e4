# wrong: the kernel's receptive field is ignored, so conv weights get fan_in = in_channels, fan_out = out_channels
# hint: receptive field
# caught by: calculate_fan_in_and_fan_out(torch.empty(8, 4, 3, 3)) == (4, 8) instead of (36, 72)
def calculate_fan_in_and_fan_out(tensor):
    if tensor.dim() < 2:
        raise ValueError(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions"
        )
    return int(tensor.shape[1]), int(tensor.shape[0])
