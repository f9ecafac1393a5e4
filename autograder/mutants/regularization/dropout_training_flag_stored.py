# wrong: the Dropout module stores training=True in __init__ and reads that copy, so model.eval() has no effect
# hint: self.training
# caught by: Dropout(0.3) switched with .eval() must be the identity
class Dropout(Dropout):
    def __init__(self, p=0.5):
        super().__init__(p)
        self.is_training = True

    def forward(self, x):
        return dropout(x, self.p, self.is_training)
