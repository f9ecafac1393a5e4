# wrong: the masks (mask, src_key_padding_mask, is_causal) are passed to the first block only
# hint: mask
# caught by: TransformerEncoder with 2 layers, is_causal=True (or a causal mask) on randn(2, 5, 16), vs nn.TransformerEncoder(..., enable_nested_tensor=False) with mask=generate_square_subsequent_mask(5)
class TransformerEncoder(TransformerEncoder):
    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=False):
        x = src
        for k, layer in enumerate(self.layers):
            if k == 0:
                x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask, is_causal=is_causal)
            else:
                x = layer(x)
        if self.norm is not None:
            x = self.norm(x)
        return x
