# wrong: the query is E[b] - E[a] - E[c] (king - man - woman) instead of E[b] - E[a] + E[c]
# hint: e[b] - e[a] + e[c]
# caught by: random E (V=50, D=8), a, b, c = 0, 1, 2, k=5
def analogy(embeddings, a, b, c, k=1):
    if embeddings.dim() != 2:
        raise ValueError(f"expected 2D embeddings (got {embeddings.dim()}D input)")
    V, D = embeddings.shape
    for name, idx in (("a", a), ("b", b), ("c", c)):
        if not 0 <= idx < V:
            raise ValueError(f"{name}={idx} is out of range for {V} embeddings")
    if not 1 <= k <= V - 3:
        raise ValueError(f"k must be in [1, V - 3] = [1, {V - 3}] (got k={k})")
    with torch.no_grad():
        query = embeddings[b] - embeddings[a] - embeddings[c]
        scores = cosine_similarity(embeddings, query.unsqueeze(0), dim=-1)
        scores[[a, b, c]] = float("-inf")
        order = torch.sort(scores, descending=True, stable=True).indices
    return order[:k]
