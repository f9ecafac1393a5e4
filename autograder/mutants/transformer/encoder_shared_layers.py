# wrong: the factory is called once and the same block is repeated, so all layers share one set of weights
# hint: factory
# caught by: TransformerEncoder(factory, 2).load_state_dict(nn.TransformerEncoder(layer, 2, enable_nested_tensor=False).state_dict()) then compare outputs (layer 1's weights overwrite layer 0's); also layers[0] is layers[1]
class TransformerEncoder(TransformerEncoder):
    def __init__(self, block_factory, num_layers, norm=None):
        super().__init__(block_factory, 0, norm)
        block = block_factory()
        self.layers = nn.ModuleList([block] * num_layers)
        self.num_layers = num_layers
