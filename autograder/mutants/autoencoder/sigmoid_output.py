# wrong: the decoder ends with a Sigmoid (MNIST habit), so reconstructions are squashed into (0, 1) although the data may be negative
# hint: a sigmoid after the decoder's last layer
# caught by: forward/decode vs the reference Sequential stacks loaded with the same state_dict; the decoder's layer types
class Autoencoder(Autoencoder):
    def __init__(self, input_dim=784, hidden_dim=64, latent_dim=3):
        super().__init__(input_dim, hidden_dim, latent_dim)
        self.decoder.append(nn.Sigmoid())
