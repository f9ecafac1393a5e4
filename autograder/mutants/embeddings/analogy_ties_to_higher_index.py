# wrong: argsort ascending and take the last k reversed, so equal scores go to the higher index first
# hint: ties
# caught by: E with duplicate rows (e.g. rows 4 and 7 equal, both the best match): must return 4 before 7
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
        query = embeddings[b] - embeddings[a] + embeddings[c]
        scores = cosine_similarity(embeddings, query.unsqueeze(0), dim=-1)
        scores[[a, b, c]] = float("-inf")
        order = torch.argsort(scores, stable=True)
    return order[-k:].flip(0)
