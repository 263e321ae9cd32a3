"""Similar photos and near-duplicates from the models' embeddings (pure numpy).

A model's embedding (1280 pooled features) is projected onto 256 fixed random directions
and stored as 256 signed bytes: the cosine similarity of two photos survives the
projection to within a few hundredths (Johnson-Lindenstrauss), and 100,000 photos take
25 MB in the database and 100 MB as float32 for an exact search by one matrix product.
"""

import numpy as np

DIMENSIONS = 256
# Fixed for good: stored vectors are only comparable under the same projection.
PROJECTION_SEED = 20261129
# Cosine similarity at and above which two photos are the same shot: resized,
# recompressed, cropped a little or stripped of EXIF (README, "Similar photos").
DUPLICATE_SIMILARITY = 0.7
_projections: dict[int, np.ndarray] = {}


def projection(width: int) -> np.ndarray:
    if width not in _projections:
        directions = np.random.default_rng(PROJECTION_SEED).standard_normal((width, DIMENSIONS))
        _projections[width] = (directions / np.sqrt(DIMENSIONS)).astype(np.float32)
    return _projections[width]


def compact(embedding: np.ndarray) -> bytes:
    """A model's embedding -> the DIMENSIONS bytes stored for it."""
    projected = embedding.astype(np.float32) @ projection(len(embedding))
    projected /= max(float(np.linalg.norm(projected)), 1e-12)
    # A unit vector's coordinates are small: scaled by 4 * 127 they use the bytes' range,
    # and the rare larger one is clipped.
    return np.clip(np.round(projected * 4 * 127), -127, 127).astype(np.int8).tobytes()


def unpack(stored: list[bytes]) -> np.ndarray:
    """Stored vectors -> an (n, DIMENSIONS) float32 matrix of unit rows."""
    if not stored:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    matrix = np.frombuffer(b"".join(stored), dtype=np.int8).reshape(len(stored), DIMENSIONS).astype(np.float32)
    return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)


def nearest(matrix: np.ndarray, query: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """The rows most similar to ``query``, most similar first: (row indexes, cosine similarities)."""
    scores = matrix @ query
    limit = min(limit, len(scores))
    best = np.argpartition(-scores, limit - 1)[:limit] if limit else np.zeros(0, dtype=int)
    best = best[np.argsort(-scores[best], kind="stable")]
    return best, scores[best]


def duplicate_groups(matrix: np.ndarray, threshold: float = DUPLICATE_SIMILARITY, block: int = 2048) -> list[list[int]]:
    """Rows linked by a similarity >= ``threshold``, directly or through each other, in
    groups of two or more (each sorted; groups by their first row). Compares every pair,
    block by block: n^2 / 2 products, a few seconds for 20,000 photos."""
    parent = list(range(len(matrix)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for start in range(0, len(matrix), block):
        scores = matrix[start:start + block] @ matrix[start:].T
        rows, columns = np.nonzero(scores >= threshold)
        for row, column in zip((rows + start).tolist(), (columns + start).tolist()):
            if row < column:
                parent[root(column)] = root(row)
    groups: dict[int, list[int]] = {}
    for i in range(len(matrix)):
        groups.setdefault(root(i), []).append(i)
    return sorted((members for members in groups.values() if len(members) > 1), key=lambda members: members[0])
