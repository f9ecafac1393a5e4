# wrong: calls torch.relu (forbidden: the exercise is to write it)
# hint: torch.relu
# caught by: the forbidden-call scan (static: `torch.relu` in relu; runtime: any call of relu)
def relu(x: torch.Tensor) -> torch.Tensor:
    return torch.relu(x)
