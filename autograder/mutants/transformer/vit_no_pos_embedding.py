# wrong: pos_embedding is created but never added to the tokens, so the model cannot tell where a patch came from
# hint: position
# caught by: the quadrant task of autograder.fixtures.synthetic (make_vit_task / train_vit): accuracy stays near chance (25 %); also changing pos_embedding does not change the logits
class ViT(ViT):
    def forward(self, images):
        B, C, H, W = images.shape
        x = self.patch_embed(patchify(images, self.patch_size))
        x = torch.cat([self.cls_token.expand(B, -1, -1), x], dim=1)
        x = self.encoder(self.dropout(x))
        return self.head(self.norm(x[:, 0]))
