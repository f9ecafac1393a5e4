# wrong: the head reads the mean of all tokens instead of the CLS token (position 0)
# hint: cls
# caught by: swap model.encoder for an identity (def f(x, *a, **k): return x): logits must equal head(norm(cls_token + pos_embedding[:, 0])) for every image, here they depend on the image; or a reference forward built from the model's parameters (unfold patches, nn.TransformerEncoderLayer(norm_first=True, activation='gelu') blocks); the learning task alone does not catch it
class ViT(ViT):
    def forward(self, images):
        B, C, H, W = images.shape
        x = self.patch_embed(patchify(images, self.patch_size))
        x = torch.cat([self.cls_token.expand(B, -1, -1), x], dim=1) + self.pos_embedding
        x = self.encoder(self.dropout(x))
        return self.head(self.norm(x.mean(dim=1)))
