# wrong: PositionalEncoding.forward multiplies the input by sqrt(d_model) before adding the table (embedding scaling belongs to the embedding layer, not here)
# hint: sqrt
# caught by: PositionalEncoding(16)(randn(2, 5, 16)) vs x + PE[:5]
class PositionalEncoding(PositionalEncoding):
    def forward(self, x):
        L, D = x.shape[-2:]
        return self.dropout(x * D ** 0.5 + self.pe[:L].to(dtype=x.dtype))
