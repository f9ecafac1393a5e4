# wrong: the ViT's encoder blocks are post-norm (norm_first=False, the block's default) instead of pre-norm
# hint: post-norm blocks (norm_first=False)
# caught by: the ViT's encoder loaded with the state_dict of nn.TransformerEncoder(nn.TransformerEncoderLayer(..., activation="gelu", norm_first=True, batch_first=True)) on tokens that are not normalised
class ViT(ViT):
    def __init__(self, image_size, patch_size, in_channels, num_classes, d_model=64, depth=2, nhead=4,
                 dim_feedforward=128, dropout=0.0):
        super().__init__(image_size, patch_size, in_channels, num_classes, d_model, depth, nhead,
                         dim_feedforward, dropout)
        self.encoder = TransformerEncoder(
            lambda: TransformerEncoderBlock(d_model, nhead, dim_feedforward, dropout, activation="gelu"), depth)
