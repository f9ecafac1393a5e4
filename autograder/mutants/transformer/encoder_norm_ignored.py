# wrong: the optional final norm is stored but never applied
# hint: norm
# caught by: TransformerEncoder(factory, 2, norm=nn.LayerNorm(16)) vs nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(16), enable_nested_tensor=False) with the same state_dict
class TransformerEncoder(TransformerEncoder):
    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=False):
        x = src
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask, is_causal=is_causal)
        return x
