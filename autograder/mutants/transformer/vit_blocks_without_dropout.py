# wrong: dropout is applied to the tokens only; the encoder blocks are built with dropout=0
# hint: the blocks get no dropout
# caught by: the ViT(dropout=0.3)'s encoder in train mode, seeded, vs nn.TransformerEncoder(nn.TransformerEncoderLayer(..., dropout=0.3)) with the same weights and seed (attention-weight dropout off in both)
class ViT(ViT):
    def __init__(self, image_size, patch_size, in_channels, num_classes, d_model=64, depth=2, nhead=4,
                 dim_feedforward=128, dropout=0.0):
        super().__init__(image_size, patch_size, in_channels, num_classes, d_model, depth, nhead,
                         dim_feedforward, dropout)
        self.encoder = TransformerEncoder(
            lambda: TransformerEncoderBlock(d_model, nhead, dim_feedforward, 0.0, activation="gelu",
                                            norm_first=True), depth)
