# wrong: each patch is flattened channels last, in (p, p, C) order, instead of unfold's (C, p, p)
# hint: order
# caught by: patchify(randn(2, 3, 8, 8), 4) vs F.unfold(x, 4, stride=4).transpose(1, 2) (any C > 1)
def patchify(images, patch_size):
    if images.dim() not in (3, 4):
        raise ValueError(f"expected 3D or 4D input (got {images.dim()}D input)")
    if not isinstance(patch_size, int) or patch_size < 1:
        raise ValueError(f"patch_size must be a positive int (got {patch_size!r})")
    *batch, C, H, W = images.shape
    p = patch_size
    if H % p != 0 or W % p != 0:
        raise ValueError(f"image size ({H}, {W}) is not divisible by patch_size={p}")
    nd = len(batch)
    x = images.reshape(*batch, C, H // p, p, W // p, p)
    x = x.permute(*range(nd), nd + 1, nd + 3, nd + 2, nd + 4, nd)  # (B, H/p, W/p, p, p, C)
    return x.reshape(*batch, (H // p) * (W // p), C * p * p)
