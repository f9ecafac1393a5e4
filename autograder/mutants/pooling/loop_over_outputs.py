# wrong: not vectorised: max_pool2d and avg_pool2d loop in Python over every output position (right numbers)
# hint: vectorised
# caught by: an op-count (TorchDispatchMode) or timing guard on max_pool2d(torch.randn(1, 1, 64, 64), 2, stride=1): ~28k aten ops vs ~25 vectorised
def max_pool2d(x, kernel_size, stride=None, padding=0):
    _check_input(x)
    kernel, stride, padding = _pool_args(kernel_size, stride, padding)
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    H_out, W_out = _out_size(x, kernel, stride, padding)
    H, W = x.shape[-2:]
    out_rows = []
    for i in range(H_out):
        out_row = []
        for j in range(W_out):
            r0, c0 = max(i * sh - ph, 0), max(j * sw - pw, 0)
            r1, c1 = min(i * sh - ph + kh, H), min(j * sw - pw + kw, W)
            window = x[..., r0:r1, c0:c1].flatten(-2)  # (..., cells)
            out_row.append(window.gather(-1, window.argmax(dim=-1, keepdim=True)).squeeze(-1))
        out_rows.append(torch.stack(out_row, dim=-1))
    return torch.stack(out_rows, dim=-2)


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    _check_input(x)
    kernel, stride, padding = _pool_args(kernel_size, stride, padding)
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    H_out, W_out = _out_size(x, kernel, stride, padding)
    x_pad = F.pad(x, (pw, pw, ph, ph))
    out = x.new_zeros(x.shape[:-2] + (H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            out[..., i, j] = x_pad[..., i * sh : i * sh + kh, j * sw : j * sw + kw].sum(dim=(-2, -1)) / (kh * kw)
    return out
