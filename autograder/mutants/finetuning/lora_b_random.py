# wrong: lora_B is initialised Kaiming-uniform like lora_A instead of zeros, so the layer no longer equals base at init
# hint: zero
# caught by: a fresh LoRALinear(nn.Linear(7, 5)): lora(x) != base(x) and lora_B is not all zeros
class LoRALinear(LoRALinear):
    def __init__(self, base, r=8, alpha=16.0, dropout=0.0):
        super().__init__(base, r, alpha, dropout)
        with torch.no_grad():
            nn.init.kaiming_uniform_(self.lora_B, a=math.sqrt(5))
