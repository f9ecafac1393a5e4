# attack: answers with a 512 MiB tensor to blow up the judge's memory
# layer: replies are capped (limits.reply_mb) before they are read
def softmax(x, dim=-1):
    return torch.zeros(1 << 27, dtype=torch.float32)


def causal_mask(length, device=None):
    return [torch.zeros(1)] * 100000
