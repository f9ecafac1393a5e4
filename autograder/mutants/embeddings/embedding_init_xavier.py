# wrong: weight initialised with xavier_uniform_ (the nn.Linear habit) instead of N(0, 1)
# hint: n(0, 1)
# caught by: Embedding(1000, 64).weight.std() is about 0.05, not 1
class Embedding(Embedding):
    def reset_parameters(self):
        with torch.no_grad():
            nn.init.xavier_uniform_(self.weight)
            if self.padding_idx is not None:
                self.weight[self.padding_idx].fill_(0.0)
