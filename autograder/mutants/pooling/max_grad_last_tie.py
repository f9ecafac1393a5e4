# wrong: max_pool2d routes a tied window's gradient to the LAST maximum instead of the first (row-major)
# hint: first max
# caught by: gradient of max_pool2d(torch.ones(1, 1, 4, 4), 2): torch puts it on cell (0, 0) of each window, this on (1, 1)
def max_pool2d(x, kernel_size, stride=None, padding=0):
    _check_input(x)
    kernel, stride, padding = _pool_args(kernel_size, stride, padding)
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    H, W = x.shape[-2:]
    H_out, W_out = _out_size(x, kernel, stride, padding)
    rows = (torch.arange(H_out, device=x.device)[:, None] * sh - ph + torch.arange(kh, device=x.device)).clamp(0, H - 1)
    cols = (torch.arange(W_out, device=x.device)[:, None] * sw - pw + torch.arange(kw, device=x.device)).clamp(0, W - 1)
    windows = x[..., rows[:, None, :, None], cols[None, :, None, :]].flatten(-2)  # (..., H_out, W_out, kh*kw)
    last_max = kh * kw - 1 - windows.flip(-1).argmax(dim=-1, keepdim=True)
    return windows.gather(-1, last_max).squeeze(-1)
