# wrong: no ReLU between the layers (encoder = Linear, Linear; decoder = Linear, Linear), so the autoencoder is linear (PCA at best) and its state_dict keys are encoder.1.* instead of encoder.2.*
# hint: a relu between the layers
# caught by: the layer types of Autoencoder().encoder/decoder must be [Linear, ReLU, Linear] (and the state_dict keys encoder.2.* / decoder.2.*)
class Autoencoder(Autoencoder):
    def __init__(self, input_dim=784, hidden_dim=64, latent_dim=3):
        super().__init__(input_dim, hidden_dim, latent_dim)
        self.encoder = nn.Sequential(nn.Linear(input_dim, hidden_dim), nn.Linear(hidden_dim, latent_dim))
        self.decoder = nn.Sequential(nn.Linear(latent_dim, hidden_dim), nn.Linear(hidden_dim, input_dim))
