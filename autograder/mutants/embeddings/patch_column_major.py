# wrong: enumerates patches column by column (grid transposed) instead of row-major
# hint: row-major
# caught by: image 8x12, p=4 (grid 2x3): patch 1 must be the top row's second patch
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
        x = x.reshape(B, C, h, p, w, p)
        x = x.permute(0, 4, 2, 1, 3, 5)  # (B, w, h, C, p, p)
        x = x.reshape(B, h * w, C * p * p)
        out = self.proj(x)
        return out.squeeze(0) if unbatched else out
