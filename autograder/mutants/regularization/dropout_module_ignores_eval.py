# wrong: the Dropout module always drops (it never passes self.training), so eval() mode is still random
# hint: self.training
# caught by: Dropout(0.5).eval()(x) must return x unchanged
class Dropout(Dropout):
    def forward(self, x):
        return dropout(x, self.p)
