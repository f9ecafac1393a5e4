# wrong: the encoder ends with a ReLU too, so every negative code coordinate is clipped to 0
# hint: a relu after the encoder's last layer
# caught by: encode/forward vs the reference Sequential stacks loaded with the same state_dict (some codes are negative); the encoder's layer types
class Autoencoder(Autoencoder):
    def __init__(self, input_dim=784, hidden_dim=64, latent_dim=3):
        super().__init__(input_dim, hidden_dim, latent_dim)
        self.encoder.append(nn.ReLU())
