# wrong: relu written as torch.where(x > 0, x, 0): right values and gradients except that NaN becomes 0
# hint: NaN must stay NaN
# caught by: relu(tensor([nan])) is 0 instead of nan (torch.relu keeps NaN)
def relu(x):
    return torch.where(x > 0, x, torch.zeros((), dtype=x.dtype, device=x.device))
