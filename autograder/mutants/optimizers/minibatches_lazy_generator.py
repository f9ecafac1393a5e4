# wrong: minibatches written as a generator function (with yield): the argument checks and the permutation only run at the first next(), not when it is called
# hint: at the first next()
# caught by: minibatches(10, 0) does not raise until iterated; after torch.manual_seed(5); it = minibatches(23, 4); torch.manual_seed(6), list(it) holds seed 6's permutation
def minibatches(n, batch_size, shuffle=True, drop_last=False, generator=None):
    if batch_size < 1:
        raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
    if n < 0:
        raise ValueError(f"n should be a non-negative integer value, but got n={n}")
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        yield order[start : start + batch_size]
