# wrong: patches are numbered column by column (top to bottom, then left to right) instead of row by row
# hint: order
# caught by: patchify(randn(1, 1, 8, 8), 4) vs F.unfold(x, 4, stride=4).transpose(1, 2) (patches 1 and 2 swapped), or any H != W image
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
    x = x.permute(*range(nd), nd + 3, nd + 1, nd, nd + 2, nd + 4)  # (B, W/p, H/p, C, p, p)
    return x.reshape(*batch, (H // p) * (W // p), C * p * p)
