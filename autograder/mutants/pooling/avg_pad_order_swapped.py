# wrong: avg_pool2d passes (ph, ph, pw, pw) to F.pad, which pads the LAST dim first, so H and W padding are swapped
# hint: f.pad
# caught by: avg_pool2d(torch.randn(2, 3, 6, 7), (3, 2), stride=1, padding=(1, 0)): wrong shape and values
def avg_pool2d(x, kernel_size, stride=None, padding=0):
    _check_input(x)
    kernel, stride, padding = _pool_args(kernel_size, stride, padding)
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    H_out, W_out = _out_size(x, kernel, stride, padding)
    x_pad = F.pad(x, (ph, ph, pw, pw))  # swapped: F.pad starts with the last dim (W)
    H_out = (x_pad.shape[-2] - kh) // sh + 1
    W_out = (x_pad.shape[-1] - kw) // sw + 1
    rows = torch.arange(H_out, device=x.device)[:, None] * sh + torch.arange(kh, device=x.device)
    cols = torch.arange(W_out, device=x.device)[:, None] * sw + torch.arange(kw, device=x.device)
    windows = x_pad[..., rows[:, None, :, None], cols[None, :, None, :]]
    return windows.mean(dim=(-2, -1))
