# wrong: merge adds B @ A to the weight without the alpha / r scaling
# hint: alpha / r
# caught by: LoRALinear(base, r=3, alpha=6) with a non-zero lora_B: merge()(x) != lora(x)
class LoRALinear(LoRALinear):
    def merge(self):
        base = self.base
        merged = torch.nn.utils.skip_init(nn.Linear, base.in_features, base.out_features,
                                          bias=base.bias is not None,
                                          device=base.weight.device, dtype=base.weight.dtype)
        with torch.no_grad():
            merged.weight.copy_(base.weight + self.lora_B @ self.lora_A)
            if base.bias is not None:
                merged.bias.copy_(base.bias)
        return merged.requires_grad_(base.weight.requires_grad)
