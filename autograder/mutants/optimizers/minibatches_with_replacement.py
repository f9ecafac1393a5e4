# wrong: minibatches draws indices with torch.randint (with replacement), so some repeat and others never appear
# hint: not a permutation of range(n)
# caught by: test_minibatches_cover_range_once: concatenated batches must be a permutation
def minibatches(n, batch_size, shuffle=True, drop_last=False, generator=None):
    if batch_size < 1:
        raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
    if n < 0:
        raise ValueError(f"n should be a non-negative integer value, but got n={n}")
    order = torch.randint(n, (n,), generator=generator) if shuffle else torch.arange(n)
    stop = n - n % batch_size if drop_last else n
    return (order[start : start + batch_size] for start in range(0, stop, batch_size))
