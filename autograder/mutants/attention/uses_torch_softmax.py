# wrong: calls torch.softmax, the function the exercise asks to write
# hint: torch.softmax is one of the calls this topic forbids
# caught by: the static scan and the runtime guard


def softmax(x, dim=-1):
    return torch.softmax(x, dim=dim)
