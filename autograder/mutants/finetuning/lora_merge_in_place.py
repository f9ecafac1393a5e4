# wrong: merge adds the update into base.weight in place and returns base, so the LoRA layer now counts it twice
# caught by: lora with a non-zero lora_B: after m = lora.merge(), lora(x) != m(x) (and lora(x) changed)
class LoRALinear(LoRALinear):
    def merge(self):
        with torch.no_grad():
            self.base.weight += self.scaling * (self.lora_B @ self.lora_A)
        return self.base
