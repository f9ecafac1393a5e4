# wrong: max_pool2d pads with -inf and takes each window's argmax: right values, but a border window whose real cells are all -inf sends its gradient into the padding (torch: to its first real cell)
# hint: into the padding
# caught by: max_pool2d(x, 3, stride=2, padding=1) on an input with a 3x3 corner of -inf, gradient w.r.t. x
def max_pool2d(x, kernel_size, stride=None, padding=0):
    _check_input(x)
    kernel, stride, padding = _pool_args(kernel_size, stride, padding)
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    H_out, W_out = _out_size(x, kernel, stride, padding)
    x_pad = F.pad(x, (pw, pw, ph, ph), value=float("-inf"))
    rows = torch.arange(H_out, device=x.device)[:, None] * sh + torch.arange(kh, device=x.device)
    cols = torch.arange(W_out, device=x.device)[:, None] * sw + torch.arange(kw, device=x.device)
    windows = x_pad[..., rows[:, None, :, None], cols[None, :, None, :]].flatten(-2)
    return windows.gather(-1, windows.argmax(dim=-1, keepdim=True)).squeeze(-1)
