# wrong: minibatches uses n // batch_size batches, so the short last batch is lost even when drop_last=False
# hint: keeps the short last batch
# caught by: test_minibatches_cover_range_once[drop_last=False] with n % batch_size != 0
def minibatches(n, batch_size, shuffle=True, drop_last=False, generator=None):
    if batch_size < 1:
        raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
    if n < 0:
        raise ValueError(f"n should be a non-negative integer value, but got n={n}")
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    return (order[i * batch_size : (i + 1) * batch_size] for i in range(n // batch_size))
