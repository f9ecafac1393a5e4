# attack: monkeypatches torch with setattr and computed names, aimed at what the grader's fixtures use in the
#   worker (assert_close, allclose, Module.parameters, Tensor.backward)
# layer: runtime guard: the submission's setattr refuses changes to modules and to classes not its own
# expect: softmax=forbidden causal_mask=forbidden
for _owner, _name, _value in ((getattr(torch, "test" + "ing"), "assert_" + "close", lambda *a, **k: None),
                              (torch, "all" + "close", lambda *a, **k: True),
                              (nn.Module, "param" + "eters", lambda self, recurse=True: iter(())),
                              (torch.Tensor, "back" + "ward", lambda self, *a, **k: None)):
    setattr(_owner, _name, _value)
