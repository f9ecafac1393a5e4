# wrong: calls F.unfold (forbidden) instead of reshaping
# hint: forbidden
# caught by: the forbidden-call scan (static: F.unfold in the source; run time: the call itself); numerically it matches torch
def patchify(images, patch_size):
    if images.dim() not in (3, 4):
        raise ValueError(f"expected 3D or 4D input (got {images.dim()}D input)")
    *batch, C, H, W = images.shape
    if H % patch_size != 0 or W % patch_size != 0:
        raise ValueError(f"image size ({H}, {W}) is not divisible by patch_size={patch_size}")
    return F.unfold(images, patch_size, stride=patch_size).transpose(-1, -2)
