"""Constants of the embedding that other parts of the product depend on.

`EMBEDDING_DIM` equals `embedding.dims` in `mappings/paintings.json` (tested): changing the
model's vector size means a new index (re-create it and replay the vectors topic).
"""

from __future__ import annotations

__all__ = ["EMBEDDING_DIM", "INPUT_SIZE"]

#: Size of the L2-normalised embedding vector written to Elasticsearch.
EMBEDDING_DIM = 256
#: Side of the square RGB image the network takes (pixels). 160 rather than the usual
#: 224: the shipped compact CNN runs about twice as fast there (issue 4's speed target on
#: 2 CPU cores) and the style textures it was trained on survive the downscale.
INPUT_SIZE = 160
