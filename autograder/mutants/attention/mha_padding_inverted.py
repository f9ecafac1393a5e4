# wrong: key_padding_mask True is read as "may attend" (scaled_dot_product_attention's convention)
# hint: treats key_padding_mask true as 'may attend'
# caught by: a key_padding_mask that pads some keys


def _additive(mask, dtype):
    if mask.dtype == torch.bool:
        return torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(~mask, float("-inf"))
    return mask.to(dtype)
