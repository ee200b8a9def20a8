"""Constants of the embedding that other parts of the product depend on.

`EMBEDDING_DIM` equals `embedding.dims` in `mappings/paintings.json` (tested): changing the
model's vector size means a new index (re-create it and replay the vectors topic).
"""

from __future__ import annotations

__all__ = ["EMBEDDING_DIM", "INPUT_SIZE", "REGION_DIMS", "STYLE_DIMS"]

#: Size of the L2-normalised embedding vector written to Elasticsearch: the painting
#: model's 1,280 ImageNet content features and its 64 trained style numbers.
EMBEDDING_DIM = 1344
#: Side of the square RGB image the network takes (pixels). 160 rather than the usual
#: 224: the shipped compact CNN runs about twice as fast there (issue 4's speed target on
#: 2 CPU cores) and the style textures it was trained on survive the downscale.
INPUT_SIZE = 160
#: Size of each region vector (`regions.vector.dims` in the mapping): the content part of
#: the painting model (`gallery_core.model.painting.CONTENT_DIMS`).
REGION_DIMS = 192
#: Size of the painting model's trained style part.
STYLE_DIMS = 64
