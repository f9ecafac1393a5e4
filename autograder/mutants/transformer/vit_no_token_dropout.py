# wrong: the token sequence is not dropped out before the encoder (dropout only inside the blocks)
# hint: the tokens without dropout
# caught by: a ViT(dropout=0.25) whose encoder records its input: in train mode every element of cat([cls_token, tokens]) + pos_embedding must be zeroed or scaled by 1 / (1 - p); here it equals the eval-mode input
class ViT(ViT):
    def forward(self, images):
        B, C, H, W = images.shape
        x = self.patch_embed(patchify(images, self.patch_size))
        x = torch.cat([self.cls_token.expand(B, -1, -1), x], dim=1) + self.pos_embedding
        x = self.encoder(x)
        return self.head(self.norm(x[:, 0]))
