# wrong: softmax defaults to dim=0 instead of the last dimension
# hint: the default must be -1
# caught by: softmax(x) on a (3, 4) input


def softmax(x, dim=0):
    shifted = x - x.detach().amax(dim=dim, keepdim=True)
    exp = shifted.exp()
    return exp / exp.sum(dim=dim, keepdim=True)
