"""Option types the CLI's commands share.

Closed sets (metric, mode) arrive as plain strings and are checked by `closed_choice`: the
enums live in `gallery_api`, which the CLI imports only inside the commands that need it (so
``gallery status`` starts without FastAPI or the Elasticsearch client), and typer can only
offer an enum's choices when the enum is imported with the command's signature.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, TypeVar

import typer

__all__ = ["JsonFlag", "closed_choice"]

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]

E = TypeVar("E", bound=Enum)


def closed_choice(value: str, choices: type[E], option: str) -> E:
    """``value`` as a member of ``choices``; a usage error naming ``option`` otherwise."""
    try:
        return choices(value)
    except ValueError:
        known = ", ".join(str(member.value) for member in choices)
        raise typer.BadParameter(f"{value!r} is not one of: {known}", param_hint=option) from None
