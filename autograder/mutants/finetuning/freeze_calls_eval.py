# wrong: freeze switches the module to eval mode instead of turning off requires_grad
# hint: requires_grad
# caught by: freeze(nn.Linear(3, 4)): weight.requires_grad is still True and count_parameters is 16
def freeze(module):
    module.eval()
    return module
