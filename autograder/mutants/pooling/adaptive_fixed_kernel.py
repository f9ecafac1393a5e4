# wrong: adaptive_avg_pool2d uses equal windows kernel = stride = H // out, which only works when out divides H
# hint: bins
# caught by: adaptive_avg_pool2d(x of shape (2, 3, 7, 9), (3, 4)): last rows/columns are never averaged
def adaptive_avg_pool2d(x, output_size):
    _check_input(x)
    H, W = x.shape[-2:]
    H_out, W_out = _normalize_output_size(output_size, H, W)
    kh, kw = max(H // max(H_out, 1), 1), max(W // max(W_out, 1), 1)
    rows = (torch.arange(H_out, device=x.device)[:, None] * kh + torch.arange(kh, device=x.device)).clamp(max=H - 1)
    cols = (torch.arange(W_out, device=x.device)[:, None] * kw + torch.arange(kw, device=x.device)).clamp(max=W - 1)
    return x[..., rows[:, None, :, None], cols[None, :, None, :]].mean(dim=(-2, -1))
