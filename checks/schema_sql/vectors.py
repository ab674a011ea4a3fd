"""pgvector's facts the rules need: operator classes per distance and type, index limits.

Source: pgvector 0.8 README (github.com/pgvector/pgvector, sections
"Indexing", "Half-Precision Vectors", "Binary Vectors", "Sparse Vectors"),
checked against the catalog of pgvector 0.8.5 on PostgreSQL 16
(pg_opclass joined with pg_am; CREATE INDEX past the limit fails with
SQLSTATE 54000):

| type      | HNSW                         | IVFFlat         |
|-----------|------------------------------|-----------------|
| vector    | 2,000 dimensions             | 2,000           |
| halfvec   | 4,000 dimensions             | 4,000           |
| bit       | 64,000 dimensions            | 64,000          |
| sparsevec | 1,000 non-zero elements/row  | no operator class |

halfvec, sparsevec and their operator classes exist since pgvector 0.7.0.
bit vectors have only Hamming and Jaccard distance (bit_hamming_ops,
bit_jaccard_ops), so no matrix distance (cosine, l2, inner_product) fits them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# type -> operator class per matrix distance (plattform.rag.distanz)
OPCLASSES: dict[str, dict[str, str]] = {
    "cosine": {"vector": "vector_cosine_ops", "halfvec": "halfvec_cosine_ops", "sparsevec": "sparsevec_cosine_ops"},
    "l2": {"vector": "vector_l2_ops", "halfvec": "halfvec_l2_ops", "sparsevec": "sparsevec_l2_ops"},
    "inner_product": {"vector": "vector_ip_ops", "halfvec": "halfvec_ip_ops", "sparsevec": "sparsevec_ip_ops"},
}
# access method -> types it can index
METHOD_TYPES: dict[str, tuple[str, ...]] = {
    "hnsw": ("vector", "halfvec", "sparsevec", "bit"),
    "ivfflat": ("vector", "halfvec", "bit"),
}
# (method, type) -> most dimensions an index can hold
MAX_DIMENSIONS: dict[tuple[str, str], int] = {
    ("hnsw", "vector"): 2000,
    ("hnsw", "halfvec"): 4000,
    ("hnsw", "bit"): 64000,
    ("ivfflat", "vector"): 2000,
    ("ivfflat", "halfvec"): 4000,
    ("ivfflat", "bit"): 64000,
}
SPARSEVEC_MAX_NONZERO = 1000  # per row, for HNSW; a limit on the data, not on the column
# opclass prefixes of pgvector (an index with one of them is a vector index)
OPCLASS_PREFIXES = ("vector_", "halfvec_", "sparsevec_", "bit_")


def opclass_for(distance: str, type_: str) -> str | None:
    """The operator class that indexes `type_` for `distance`; None if pgvector has none (bit)."""
    return OPCLASSES.get(distance, {}).get(type_)


def opclass_type(opclass: str | None) -> str | None:
    """The type an operator class of pgvector is for: 'halfvec_cosine_ops' -> 'halfvec'."""
    if not opclass:
        return None
    prefix = opclass.split("_", 1)[0]
    return prefix if prefix in ("vector", "halfvec", "sparsevec", "bit") else None


def max_dimensions(method: str, type_: str, matrix_limits: Mapping[Any, int] | None = None) -> int | None:
    """Most dimensions `method` indexes for `type_`; for vector also at most the matrix's limit.

    None: no limit on dimensions (sparsevec: the limit is 1,000 non-zero
    elements per row) or the method cannot index the type at all.
    """
    limit = MAX_DIMENSIONS.get((method, type_))
    if limit is not None and type_ == "vector" and matrix_limits and method in matrix_limits:
        limit = min(limit, matrix_limits[method])
    return limit
