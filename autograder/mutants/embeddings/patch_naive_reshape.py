# wrong: reshapes (B, C, H, W) straight to (B, N, C*p*p) without permuting, so "patches" are runs of pixels
# hint: permute
# caught by: any random image with p > 1, e.g. (2, 3, 8, 8), p=4
class PatchEmbedding(PatchEmbedding):
    def forward(self, x):
        if x.dim() not in (3, 4):
            raise ValueError(f"expected 3D (unbatched) or 4D (batched) input (got {x.dim()}D input)")
        unbatched = x.dim() == 3
        if unbatched:
            x = x.unsqueeze(0)
        B, C, H, W = x.shape
        if C != self.in_channels or (H, W) != self.image_size:
            raise ValueError(f"expected input of size (B, {self.in_channels}, *{self.image_size}) (got {tuple(x.shape)})")
        p = self.patch_size
        h, w = self.grid_size
        x = x.reshape(B, h * w, C * p * p)
        out = self.proj(x)
        return out.squeeze(0) if unbatched else out
