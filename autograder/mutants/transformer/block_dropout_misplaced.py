# wrong: the MLP's hidden dropout is applied before the activation and dropout2 is skipped: linear2(activation(dropout(linear1(x))))
# hint: dropout
# caught by: train mode with dropout=0.5: same torch.manual_seed before nn.TransformerEncoderLayer(16, 4, 32, dropout=0.5, batch_first=True) and the block (same state_dict) gives identical outputs for a correct block, different ones here; eval mode is unaffected
class TransformerEncoderBlock(TransformerEncoderBlock):
    def _ff_block(self, x):
        return self.linear2(self.activation(self.dropout(self.linear1(x))))
