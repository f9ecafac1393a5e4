# wrong: activation="gelu" maps to the tanh approximation F.gelu(x, approximate="tanh") instead of the exact erf GELU torch uses
# hint: gelu
# caught by: activation="gelu" block vs nn.TransformerEncoderLayer(..., activation="gelu", batch_first=True) in float64 on 3 * randn(2, 5, 16) (differences ~1e-4)
class TransformerEncoderBlock(TransformerEncoderBlock):
    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu",
                 layer_norm_eps=1e-5, norm_first=False):
        super().__init__(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, norm_first)
        if activation == "gelu":
            self.activation = lambda t: F.gelu(t, approximate="tanh")
