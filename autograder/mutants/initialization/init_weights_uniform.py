# wrong: init_weights uses kaiming_uniform_ instead of kaiming_normal_ (same std, wrong distribution)
# hint: normal
# caught by: nn.Linear(2000, 1000): max |weight| <= sqrt(6/2000) = 0.0548 while ~8% of a normal with std 0.0316 lies beyond it (1.73 sigma); differs from torch.nn.init.kaiming_normal_ after the same torch.manual_seed
def init_weights(module, generator=None):
    if isinstance(module, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)):
        kaiming_uniform_(module.weight, mode="fan_in", nonlinearity="relu", generator=generator)
        if module.bias is not None:
            with torch.no_grad():
                module.bias.zero_()
