# wrong: relu written as x.clamp(min=0), whose gradient at x == 0 is 1 (torch.relu's is 0)
# hint: gradient at 0
# caught by: relu on a tensor containing exact zeros, e.g. [-1., 0., 2.], then .sum().backward(): grad [0, 1, 1] instead of [0, 0, 1]
def relu(x: torch.Tensor) -> torch.Tensor:
    return x.clamp(min=0)
