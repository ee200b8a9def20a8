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
