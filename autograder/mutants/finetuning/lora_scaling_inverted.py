# wrong: the update is scaled by r / alpha instead of alpha / r
# hint: alpha / r
# caught by: LoRALinear(base, r=4, alpha=16) with a non-zero lora_B: update 16x too small
class LoRALinear(LoRALinear):
    def forward(self, x):
        update = self.dropout(x) @ self.lora_A.T @ self.lora_B.T
        return self.base(x) + update * (self.r / self.alpha)
