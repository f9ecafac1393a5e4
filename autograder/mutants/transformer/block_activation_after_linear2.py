# wrong: the activation is applied after the second linear layer: activation(linear2(dropout(linear1(x))))
# hint: activation
# caught by: any eval-mode output vs nn.TransformerEncoderLayer with the same state_dict (relu zeroes the negative MLP outputs)
class TransformerEncoderBlock(TransformerEncoderBlock):
    def _ff_block(self, x):
        return self.dropout2(self.activation(self.linear2(self.dropout(self.linear1(x)))))
