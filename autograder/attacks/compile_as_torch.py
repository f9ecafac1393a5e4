# attack: compiles code under a file name inside torch's folder, so its frames look like torch's
# layer: static scan rejects compile/exec/eval; at run time they are not among the submission's builtins
# expect: softmax=forbidden
_source = "def softmax(x, dim=-1):\n    import torch\n    return torch.softmax(x, dim)\n"
exec(compile(_source, torch.__file__, "exec"), globals())
