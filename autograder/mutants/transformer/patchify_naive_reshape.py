# wrong: reshapes the image straight to (B, N, C*p*p) without moving the patch axes, so a "patch" is a run of consecutive pixels of a row
# hint: permute
# caught by: patchify(arange(64.).reshape(1, 1, 8, 8), 4) vs F.unfold(x, 4, stride=4).transpose(1, 2)
def patchify(images, patch_size):
    if images.dim() not in (3, 4):
        raise ValueError(f"expected 3D or 4D input (got {images.dim()}D input)")
    if not isinstance(patch_size, int) or patch_size < 1:
        raise ValueError(f"patch_size must be a positive int (got {patch_size!r})")
    *batch, C, H, W = images.shape
    p = patch_size
    if H % p != 0 or W % p != 0:
        raise ValueError(f"image size ({H}, {W}) is not divisible by patch_size={p}")
    return images.reshape(*batch, (H // p) * (W // p), C * p * p)
