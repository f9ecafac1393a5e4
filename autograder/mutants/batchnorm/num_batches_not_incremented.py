# wrong: num_batches_tracked is never incremented; momentum=None uses 1 / (num_batches_tracked + 1) = 1, i.e. the last batch only
# hint: incremented in place (+= 1)
# caught by: BatchNorm1d(3, momentum=None) trained on two different batches: running_mean equals the second batch mean, not the average; state_dict num_batches_tracked stays 0
class _BatchNorm(_BatchNorm):
    def forward(self, x):
        self._check_input_dim(x)
        if self.training:
            _check_batch_size(x)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked + 1)
        use_batch_stats = self.training or (self.running_mean is None and self.running_var is None)
        pass_buffers = (not self.training) or self.track_running_stats
        return batch_norm(
            x,
            self.running_mean if pass_buffers else None,
            self.running_var if pass_buffers else None,
            self.weight,
            self.bias,
            use_batch_stats,
            factor,
            self.eps,
        )


class BatchNorm1d(_BatchNorm):
    def _check_input_dim(self, x):
        if x.dim() != 2 and x.dim() != 3:
            raise ValueError(f"expected 2D or 3D input (got {x.dim()}D input)")


class BatchNorm2d(_BatchNorm):
    def _check_input_dim(self, x):
        if x.dim() != 4:
            raise ValueError(f"expected 4D input (got {x.dim()}D input)")
