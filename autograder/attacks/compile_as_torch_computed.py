# attack: the same, reaching compile and exec through the builtins module by computed names
# layer: runtime guard: getattr refuses double-underscore names; the submission's builtins have no
#   compile/exec/eval
# expect: softmax=forbidden
def softmax(x, dim=-1):
    builtins = getattr(torch, "__buil" + "tins__")
    run = builtins["ex" + "ec"]
    scope = {"torch": torch, "__name__": "torch.nn.functional"}
    run(builtins["comp" + "ile"]("def f(x, d):\n    return torch.softmax(x, d)\n",
                                 "torch/nn/functional.py", "exec"), scope)
    return scope["f"](x, dim)
