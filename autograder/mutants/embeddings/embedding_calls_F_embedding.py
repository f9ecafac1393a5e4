# wrong: calls F.embedding (forbidden)
# hint: torch.nn.functional.embedding is one of the calls this topic forbids
# caught by: the forbidden-call check (numerically it is identical)
import torch.nn.functional as F


class Embedding(Embedding):
    def forward(self, indices):
        if indices.dtype not in (torch.int64, torch.int32):
            raise TypeError(f"Embedding: expected indices of dtype int64 or int32 (got {indices.dtype})")
        return F.embedding(indices, self.weight, self.padding_idx)
