# attack: star import, so no forbidden name appears in the source
# layer: static scan rejects star imports
# expect: softmax=forbidden
from torch.nn.functional import *  # noqa: F401,F403


def softmax(x, dim=-1):
    return globals()["soft" + "max"](x, dim)
