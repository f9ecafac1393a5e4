# wrong: the receptive field multiplies fan_in only; fan_out is left as out_channels
# hint: receptive field
# caught by: calculate_fan_in_and_fan_out(torch.empty(8, 4, 3, 3)) == (36, 8) instead of (36, 72); xavier on a conv weight
def calculate_fan_in_and_fan_out(tensor):
    if tensor.dim() < 2:
        raise ValueError(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions"
        )
    receptive_field_size = 1
    for s in tensor.shape[2:]:
        receptive_field_size *= s
    return int(tensor.shape[1] * receptive_field_size), int(tensor.shape[0])
