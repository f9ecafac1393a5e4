# wrong: fan_in and fan_out swapped (dim 0 of a weight is the output dimension, not the input)
# hint: fan_in
# caught by: calculate_fan_in_and_fan_out(torch.empty(3, 5)) == (3, 5) instead of (5, 3)
def calculate_fan_in_and_fan_out(tensor):
    if tensor.dim() < 2:
        raise ValueError(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions"
        )
    receptive_field_size = 1
    for s in tensor.shape[2:]:
        receptive_field_size *= s
    fan_in = tensor.shape[0] * receptive_field_size
    fan_out = tensor.shape[1] * receptive_field_size
    return int(fan_in), int(fan_out)
