"""Where a data set lands in latent space: the encoder means of its test split, a 2-D PCA of them,
their `.npz` file (arrays.py), and the cache that serves them (cache.py).

`python -m model.encodings --all` writes the cache files for every model in the weights folder.
"""

from model.encodings.arrays import (
    FORMAT_VERSION,
    PCA,
    Encodings,
    encode_means,
    encode_split,
    fit_pca,
    load,
    save,
)
from model.encodings.cache import EncodingCache, EncodingsUnavailable, Entry, cache_path

__all__ = [
    "FORMAT_VERSION", "PCA", "EncodingCache", "Encodings", "EncodingsUnavailable", "Entry", "cache_path",
    "encode_means", "encode_split", "fit_pca", "load", "save",
]
