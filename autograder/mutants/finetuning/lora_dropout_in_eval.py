# wrong: F.dropout is called without training=self.training, so the adapter input is dropped in eval mode too
# hint: eval
# caught by: LoRALinear(base, dropout=0.5).eval() with a non-zero lora_B: output is random, != base(x) + x A^T B^T * scaling
from torch.nn import functional as F


class LoRALinear(LoRALinear):
    def forward(self, x):
        p = self.dropout.p if isinstance(self.dropout, nn.Dropout) else 0.0
        update = F.dropout(x, p) @ self.lora_A.T @ self.lora_B.T
        return self.base(x) + update * self.scaling
