# wrong: max_pool2d pads with zeros instead of -inf, so padded cells can win the max
# hint: -inf
# caught by: max_pool2d(-(x.abs() + 1), 3, stride=2, padding=1): every border output is 0 instead of negative
def max_pool2d(x, kernel_size, stride=None, padding=0):
    _check_input(x)
    kernel, stride, padding = _pool_args(kernel_size, stride, padding)
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    H_out, W_out = _out_size(x, kernel, stride, padding)
    x_pad = F.pad(x, (pw, pw, ph, ph))  # zeros around
    rows = torch.arange(H_out, device=x.device)[:, None] * sh + torch.arange(kh, device=x.device)
    cols = torch.arange(W_out, device=x.device)[:, None] * sw + torch.arange(kw, device=x.device)
    windows = x_pad[..., rows[:, None, :, None], cols[None, :, None, :]].flatten(-2)
    return windows.gather(-1, windows.argmax(dim=-1, keepdim=True)).squeeze(-1)
