# wrong: flattens each patch in (p, p, C) order instead of (C, p, p), so proj.weight.view(D, C, p, p) is not the conv weight
# hint: (c, p, p)
# caught by: C=3, p=4, random image: differs from conv2d with weight proj.weight.view(D, C, p, p)
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
        x = x.permute(0, 2, 4, 3, 5, 1)  # (B, h, w, p, p, C)
        x = x.reshape(B, h * w, p * p * C)
        out = self.proj(x)
        return out.squeeze(0) if unbatched else out
