from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

from gallery_core.sources.sidecar import SidecarIndex, layout_metadata, normalise_row


def test_painter_by_numbers_columns_are_understood(tmp_path: Path) -> None:
    (tmp_path / "pbn").mkdir()
    (tmp_path / "pbn" / "all_data_info.csv").write_text(
        "artist,date,genre,pixelsx,pixelsy,size_bytes,source,style,title,artist_group,in_train,new_filename\n"
        "Claude Monet,c.1916,landscape,800,600,1234,wikiart,Impressionism,Water Lilies,train_and_test,True,102257.jpg\n"
    )
    meta = SidecarIndex(tmp_path).lookup(PurePosixPath("pbn/102257.jpg"))
    assert (meta.artist, meta.title, meta.style, meta.genre) == (
        "Claude Monet",
        "Water Lilies",
        "Impressionism",
        "landscape",
    )
    assert meta.date == "c.1916" and meta.year == 1916
    assert meta.extra["source"] == "wikiart"
    assert "new_filename" not in meta.extra


def test_train_info_rows_match_by_filename(tmp_path: Path) -> None:
    (tmp_path / "train_info.csv").write_text(
        "filename,artist,title,style,genre,date\n1.jpg,abc123,Untitled,Cubism,still life,1912.0\n"
    )
    meta = SidecarIndex(tmp_path).lookup(PurePosixPath("1.jpg"))
    assert meta.style == "Cubism" and meta.year == 1912


def test_the_nearest_sidecar_wins_and_parents_apply_below(tmp_path: Path) -> None:
    (tmp_path / "c" / "sub").mkdir(parents=True)
    (tmp_path / "c" / "metadata.json").write_text(
        json.dumps({"sub/x.png": {"title": "From parent"}, "y.png": {"title": "Parent y"}})
    )
    (tmp_path / "c" / "sub" / "metadata.csv").write_text("file,title\ny.png,From child\n")
    index = SidecarIndex(tmp_path)
    assert index.lookup(PurePosixPath("c/sub/x.png")).title == "From parent"
    assert index.lookup(PurePosixPath("c/sub/y.png")).title == "From child"
    assert index.lookup(PurePosixPath("c/other.png")).title is None


def test_a_broken_sidecar_is_skipped_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "metadata.json").write_text("{not json")
    assert SidecarIndex(tmp_path).lookup(PurePosixPath("a.png")).title is None


def test_wikiart_layout_gives_style_artist_and_title() -> None:
    meta = layout_metadata(
        PurePosixPath("wikiart/Impressionism/claude-monet_water-lilies-1916.jpg")
    )
    assert meta.style == "Impressionism"
    assert meta.artist == "Claude Monet"
    assert meta.title == "water lilies 1916"
    assert meta.year == 1916


def test_other_layouts_give_a_title_from_the_file_name_only() -> None:
    meta = layout_metadata(PurePosixPath("photos/my_holiday-pic.jpg"))
    assert meta.title == "my holiday pic" and meta.artist is None and meta.style is None
    nested = layout_metadata(PurePosixPath("photos/2019/beach.jpg"))
    assert nested.style is None and nested.title == "beach"


def test_sidecar_values_override_the_layout_and_empty_cells_do_not() -> None:
    layout = layout_metadata(PurePosixPath("wikiart/Cubism/pablo-picasso_guitar.jpg"))
    row = normalise_row({"filename": "x", "title": "Guitar (1913)", "artist": ""})
    merged = row.merged_over(layout)
    assert merged.title == "Guitar (1913)" and merged.artist == "Pablo Picasso"
    assert merged.as_fields()["style"] == "Cubism"
