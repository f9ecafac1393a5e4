# wrong: avg_pool2d divides border windows by the number of real cells (count_include_pad=False)
# hint: count_include_pad
# caught by: avg_pool2d(torch.ones(1, 1, 4, 4), 3, stride=1, padding=1): border outputs are 1 instead of 4/9 or 6/9
def avg_pool2d(x, kernel_size, stride=None, padding=0):
    _check_input(x)
    kernel, stride, padding = _pool_args(kernel_size, stride, padding)
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    H_out, W_out = _out_size(x, kernel, stride, padding)
    x_pad = F.pad(x, (pw, pw, ph, ph))
    ones_pad = F.pad(torch.ones_like(x), (pw, pw, ph, ph))  # 1 on real cells, 0 on padding
    rows = torch.arange(H_out, device=x.device)[:, None] * sh + torch.arange(kh, device=x.device)
    cols = torch.arange(W_out, device=x.device)[:, None] * sw + torch.arange(kw, device=x.device)
    windows = x_pad[..., rows[:, None, :, None], cols[None, :, None, :]]
    counts = ones_pad[..., rows[:, None, :, None], cols[None, :, None, :]]
    return windows.sum(dim=(-2, -1)) / counts.sum(dim=(-2, -1))
