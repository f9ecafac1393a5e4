# attack: private routes to the same computation: torch.ops overloads, torch._refs, a module-level alias
#   handed to the grader as the exercise itself
# layer: runtime guard: overloads are refused to the submission, torch's alternative implementations are
#   wrapped, and a forbidden function handed over as a value counts as a call
# expect: softmax=forbidden causal_mask=forbidden scaled_dot_product_attention=forbidden
def softmax(x, dim=-1):
    ops = getattr(torch, "o" + "ps")
    return getattr(getattr(ops, "aten"), "_soft" + "max").default(x, dim, False)


def causal_mask(length, device=None):
    refs = getattr(torch, "_r" + "efs")
    return getattr(refs, "soft" + "max")(torch.ones(length, length), -1) > 0


scaled_dot_product_attention = getattr(torch.nn.functional, "scaled_dot_product_" + "attention")
