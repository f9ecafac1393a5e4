# wrong: calls F.conv2d (forbidden)
# hint: torch.conv2d is one of the calls this topic forbids
# caught by: the forbidden-call check (numerically it is identical)
import torch.nn.functional as F


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
        D = self.embed_dim
        out = F.conv2d(x, self.proj.weight.view(D, C, p, p), self.proj.bias, stride=p)  # (B, D, h, w)
        out = out.flatten(2).transpose(1, 2)  # (B, N, D)
        return out.squeeze(0) if unbatched else out
