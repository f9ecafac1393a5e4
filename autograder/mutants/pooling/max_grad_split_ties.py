# wrong: max_pool2d takes amax over each window, so a tied window splits its gradient among all its maxima
# hint: tie
# caught by: gradient of max_pool2d(torch.ones(1, 1, 4, 4), 2): torch gives 1 to the first cell of each window, this gives 0.25 to all
def max_pool2d(x, kernel_size, stride=None, padding=0):
    _check_input(x)
    kernel, stride, padding = _pool_args(kernel_size, stride, padding)
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    H_out, W_out = _out_size(x, kernel, stride, padding)
    x_pad = F.pad(x, (pw, pw, ph, ph), value=float("-inf"))
    rows = torch.arange(H_out, device=x.device)[:, None] * sh + torch.arange(kh, device=x.device)
    cols = torch.arange(W_out, device=x.device)[:, None] * sw + torch.arange(kw, device=x.device)
    windows = x_pad[..., rows[:, None, :, None], cols[None, :, None, :]]  # (..., H_out, W_out, kh, kw)
    return windows.amax(dim=(-2, -1))
