"""devstack.stack: one `up` or `down` at a time per checkout."""

from __future__ import annotations


def test_up_and_down_take_turns_in_one_checkout(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import threading
    import time

    from rich.console import Console

    from devstack.layout import Layout
    from devstack.stack import _exclusive

    layout = Layout(cache=tmp_path, run=tmp_path / "run", es_root=tmp_path, es_state=tmp_path)
    order: list[str] = []
    inside = threading.Event()

    def first() -> None:
        with _exclusive(layout, Console(quiet=True)):
            order.append("first in")
            inside.set()
            time.sleep(0.3)
            order.append("first out")

    thread = threading.Thread(target=first)
    thread.start()
    inside.wait(5)
    with _exclusive(layout, Console(quiet=True)):
        order.append("second in")
    thread.join()
    assert order == ["first in", "first out", "second in"]


def test_the_stamp_of_model_loading_processes_follows_the_model_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import os
    import shutil

    from devstack.stack import app_stamp
    from gallery_core.model.card import card_path_for
    from gallery_core.model.encoder import DEFAULT_MODEL_PATH
    from gallery_core.settings import Settings

    shipped = Settings()
    other = tmp_path / "other.keras"
    shutil.copyfile(DEFAULT_MODEL_PATH, other)
    shutil.copyfile(card_path_for(DEFAULT_MODEL_PATH), card_path_for(other))
    moved = Settings(worker={"model_path": other})  # type: ignore[arg-type]

    for name in ("worker", "worker-2", "api"):
        assert app_stamp(shipped, name).startswith("model ")
        assert app_stamp(shipped, name) != app_stamp(moved, name)
    # The same file rewritten (a new checkout, a retrained model): another stamp.
    before = app_stamp(moved, "worker")
    os.utime(other, ns=(1, 1))
    assert app_stamp(moved, "worker") != before
    # The watcher does not load the model: it is kept whatever the model.
    assert app_stamp(shipped, "producer") == app_stamp(moved, "producer") == ""
