# wrong: the CLS token is appended after the patches but the head still reads token 0 (the first patch)
# hint: cls
# caught by: swap model.encoder for an identity (def f(x, *a, **k): return x): logits must equal head(norm(cls_token + pos_embedding[:, 0])) for every image, here they depend on the first patch; or a reference forward built from the model's own parameters
class ViT(ViT):
    def forward(self, images):
        B, C, H, W = images.shape
        x = self.patch_embed(patchify(images, self.patch_size))
        x = torch.cat([x, self.cls_token.expand(B, -1, -1)], dim=1) + self.pos_embedding
        x = self.encoder(self.dropout(x))
        return self.head(self.norm(x[:, 0]))
