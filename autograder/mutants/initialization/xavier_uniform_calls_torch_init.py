# wrong: calls torch.nn.init.xavier_uniform_ (forbidden: everything in torch.nn.init)
# hint: torch.nn.init
# caught by: the forbidden-call scan (static: `torch.nn.init.xavier_uniform_` in xavier_uniform_; runtime: any call)
def xavier_uniform_(tensor, gain=1.0, generator=None):
    return torch.nn.init.xavier_uniform_(tensor, gain=gain, generator=generator)
