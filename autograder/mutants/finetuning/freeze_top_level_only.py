# wrong: freeze walks only the module's own parameters (recurse=False): nested layers stay trainable
# hint: requires_grad
# caught by: freeze(SmallResNet()) then any conv/bn/fc parameter still has requires_grad=True
def freeze(module):
    for p in module.parameters(recurse=False):
        p.requires_grad_(False)
    return module
