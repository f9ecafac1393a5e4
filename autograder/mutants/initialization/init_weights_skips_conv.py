# wrong: init_weights only handles nn.Linear; Conv1d/2d/3d layers keep their default init
# hint: conv
# caught by: nn.Conv2d(64, 300, 5).apply(init_weights): weight std ~ 0.0144 (default) instead of sqrt(2/1600) = 0.0354, bias not zero
def init_weights(module, generator=None):
    if isinstance(module, nn.Linear):
        kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu", generator=generator)
        if module.bias is not None:
            with torch.no_grad():
                module.bias.zero_()
