"""Refilling the index from the watched folder after `gallery up` re-created it empty.

The index is derived from the files in the watched folder: when mappings/ asks for what
Elasticsearch cannot change in place (another vector size or type, another shard count),
the local stack re-creates the index and marks it (`devstack.bootstrap.needs_republish`);
`gallery up` and `gallery demo` then publish the folder again.
"""

from __future__ import annotations

from rich.console import Console

from devstack.bootstrap import needs_republish, republished
from gallery_core.clients import es_client
from gallery_core.contracts import load_index
from gallery_core.settings import Settings
from producer.ingest import ingest

__all__ = ["republish_if_recreated"]


def republish_if_recreated(settings: Settings, console: Console) -> bool:
    """Publish the watched folder again if `gallery up` re-created the index empty (its
    vectors or shards changed in mappings/): the index is derived from those files."""
    index = load_index()
    with es_client(settings) as es:
        if not needs_republish(es, index):
            return False
    console.print(f"index {index.name} was re-created: publishing the watched folder again")
    ingest(settings, settings.paths.watch_dir, wait=False, force=True, console=console)
    with es_client(settings) as es:
        republished(es, index)
    return True
