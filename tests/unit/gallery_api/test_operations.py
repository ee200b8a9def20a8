"""gallery_api.operations: the collections listing."""

from __future__ import annotations


def test_featured_collections_come_first_in_their_own_order() -> None:
    from gallery_api.operations import CollectionCount, featured_first

    counts = [
        CollectionCount(name=n, count=c) for n, c in (("clipart", 900), ("b", 5), ("museum", 7))
    ]
    ordered = featured_first(counts, ["museum", "b"])
    assert [(c.name, c.featured) for c in ordered] == [
        ("museum", True),
        ("b", True),
        ("clipart", False),
    ]
    assert [c.name for c in featured_first(counts, [])] == ["clipart", "b", "museum"]
