# attack: changes torch's global state at import (default dtype, grad mode, threads, deterministic flags)
# layer: the judge computes references in its own process; the worker's state is the submission's own
torch.set_default_dtype(torch.float64)
torch.set_grad_enabled(False)
torch.set_num_threads(1)
torch.manual_seed(1234)
torch.use_deterministic_algorithms(True)


def softmax(x, dim=-1):
    return torch.ones_like(x) / x.shape[dim]
