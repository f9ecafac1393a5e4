# wrong: relu written as torch.maximum(x, 0), which splits the gradient at x == 0 (0.5 instead of 0)
# hint: gradient at 0
# caught by: relu on [-1., 0., 2.], then .sum().backward(): grad [0, 0.5, 1] instead of [0, 0, 1]
def relu(x: torch.Tensor) -> torch.Tensor:
    return torch.maximum(x, torch.zeros_like(x))
