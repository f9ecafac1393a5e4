# wrong: splits each axis as (p, H/p) instead of (H/p, p), taking strided pixels instead of contiguous blocks
# hint: patch
# caught by: image 8x12, p=2 (H/p != p): differs from conv2d with stride p
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
        x = x.reshape(B, C, p, h, p, w)  # (B, C, p, h, p, w): wrong split
        x = x.permute(0, 3, 5, 1, 2, 4)  # (B, h, w, C, p, p)
        x = x.reshape(B, h * w, C * p * p)
        out = self.proj(x)
        return out.squeeze(0) if unbatched else out
