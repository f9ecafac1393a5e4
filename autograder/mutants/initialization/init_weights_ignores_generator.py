# wrong: init_weights accepts generator= but draws from the global RNG (kaiming_normal_ called without it)
# hint: draw every weight from it
# caught by: init_weights(module, generator=Generator().manual_seed(11)) under torch.manual_seed(0) and (1): the weights differ
def init_weights(module, generator=None):
    if isinstance(module, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)):
        kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
        if module.bias is not None:
            with torch.no_grad():
                module.bias.zero_()
