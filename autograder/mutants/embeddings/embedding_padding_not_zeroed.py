# wrong: initialisation forgets to zero the padding row
# hint: padding
# caught by: Embedding(10, 4, padding_idx=3).weight[3] is not all zeros
class Embedding(Embedding):
    def reset_parameters(self):
        with torch.no_grad():
            self.weight.normal_(0.0, 1.0)
