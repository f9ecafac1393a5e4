# wrong: adaptive_avg_pool2d ends each bin at floor((i+1)*H/out) instead of the ceiling
# hint: ceil
# caught by: adaptive_avg_pool2d(x of shape (1, 1, 5, 7), 3): rows bins become [0,1) [1,3) [3,5) instead of [0,2) [1,4) [3,5)
def adaptive_avg_pool2d(x, output_size):
    _check_input(x)
    H, W = x.shape[-2:]
    H_out, W_out = _normalize_output_size(output_size, H, W)

    def averaging_matrix(size_in, size_out):
        i = torch.arange(size_out, device=x.device)
        start = (i * size_in) // size_out
        end = ((i + 1) * size_in) // size_out  # floor instead of ceil
        r = torch.arange(size_in, device=x.device)
        in_bin = (r >= start[:, None]) & (r < end[:, None])
        return in_bin.to(x.dtype) / (end - start).clamp(min=1).to(x.dtype)[:, None]

    return averaging_matrix(H, H_out) @ x @ averaging_matrix(W, W_out).T
