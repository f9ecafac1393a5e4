# wrong: init_weights re-initialises the weights but leaves the biases at their default (non-zero) values
# hint: bias
# caught by: nn.Linear(7, 9).apply(init_weights).bias is not all zeros
def init_weights(module, generator=None):
    if isinstance(module, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)):
        kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu", generator=generator)
