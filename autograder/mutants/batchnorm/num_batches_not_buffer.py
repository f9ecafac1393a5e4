# wrong: num_batches_tracked is a plain tensor attribute, not a registered buffer (missing from state_dict, not moved by .to())
# hint: registered buffers (register_buffer)
# caught by: BatchNorm2d(3).state_dict() keys vs nn.BatchNorm2d(3)'s (no num_batches_tracked), load_state_dict of torch's state_dict (unexpected key)
class _BatchNorm(_BatchNorm):
    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device=None, dtype=None):
        nn.Module.__init__(self)
        if not isinstance(num_features, int) or isinstance(num_features, bool):
            raise TypeError(f"num_features must be an int, got {type(num_features).__name__}")
        if num_features <= 0:
            raise ValueError(f"num_features must be positive, got {num_features}")
        _check_eps(eps, training=False)
        if momentum is not None and (not isinstance(momentum, (int, float)) or isinstance(momentum, bool)):
            raise TypeError(f"momentum must be a float or None, got {type(momentum).__name__}")
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = nn.Parameter(torch.ones(num_features, device=device, dtype=dtype))
            self.bias = nn.Parameter(torch.zeros(num_features, device=device, dtype=dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", torch.zeros(num_features, device=device, dtype=dtype))
            self.register_buffer("running_var", torch.ones(num_features, device=device, dtype=dtype))
            self.num_batches_tracked = torch.tensor(0, dtype=torch.long, device=device)
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.num_batches_tracked = None


class BatchNorm1d(_BatchNorm):
    def _check_input_dim(self, x):
        if x.dim() != 2 and x.dim() != 3:
            raise ValueError(f"expected 2D or 3D input (got {x.dim()}D input)")


class BatchNorm2d(_BatchNorm):
    def _check_input_dim(self, x):
        if x.dim() != 4:
            raise ValueError(f"expected 4D input (got {x.dim()}D input)")
