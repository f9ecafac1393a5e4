# attack: the same, reaching compile and exec through the builtins module by computed names
# layer: runtime guard: the submission's builtins have no compile/exec/eval/__import__ of the real kind
_b = getattr(torch, "__buil" + "tins__", None) or {}
_compile = _b.get("comp" + "ile") if isinstance(_b, dict) else getattr(_b, "comp" + "ile", None)
_exec = _b.get("ex" + "ec") if isinstance(_b, dict) else getattr(_b, "ex" + "ec", None)
if _compile and _exec:
    _exec(_compile("def softmax(x, dim=-1):\n    return torch.softmax(x, dim)\n", torch.__file__, "exec"),
          {"torch": torch, "__name__": "torch.nn.functional"})
