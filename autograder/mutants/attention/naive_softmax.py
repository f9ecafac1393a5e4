# wrong: softmax exponentiates the raw scores (no max subtraction), so it overflows to nan
# hint: exp overflowed
# caught by: scores of size 100 and more in float32


def softmax(x, dim=-1):
    exp = x.exp()
    return exp / exp.sum(dim=dim, keepdim=True)
