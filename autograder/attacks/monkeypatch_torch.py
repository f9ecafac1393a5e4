# attack: monkeypatches torch in the worker (assert_close, allclose, Module.__call__) so checks pass
# layer: static scan rejects assignments into modules; the judge compares in its own process anyway
# expect: softmax=forbidden
torch.testing.assert_close = lambda *args, **kwargs: None
torch.allclose = lambda *args, **kwargs: True
nn.Module.__call__ = lambda self, *args, **kwargs: args[0]
