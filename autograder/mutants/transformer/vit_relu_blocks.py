# wrong: the ViT's encoder blocks keep the block's default activation "relu" instead of "gelu"
# hint: blocks with the default ReLU
# caught by: the ViT's encoder loaded with the state_dict of nn.TransformerEncoder(nn.TransformerEncoderLayer(..., activation="gelu", norm_first=True, batch_first=True))
class ViT(ViT):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for block in self.encoder.layers:
            block.activation = F.relu
