# wrong: the ViT's encoder blocks are post-norm (norm_first=False, the block's default) instead of pre-norm
# hint: post-norm blocks (norm_first=False)
# caught by: the ViT's encoder loaded with the state_dict of nn.TransformerEncoder(nn.TransformerEncoderLayer(..., activation="gelu", norm_first=True, batch_first=True)) on tokens that are not normalised
class ViT(ViT):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for block in self.encoder.layers:
            block.norm_first = False
