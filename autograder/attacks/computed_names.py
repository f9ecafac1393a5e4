# attack: reaches torch.softmax through vars() with a computed key
# layer: static scan rejects vars/globals/locals
# expect: softmax=forbidden
def softmax(x, dim=-1):
    return vars(torch)["soft" + "max"](x, dim)
