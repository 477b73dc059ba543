"""The `/` filter input."""

from __future__ import annotations

from textual.widgets import Input

PLACEHOLDER = (
    "filter: text, or agent:NAME model:NAME status:429 tier: role: cache:  (Enter keeps, Esc clears)"
)


class FilterBar(Input):
    """Hidden until `/`; the app reads `.value` on every change."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(placeholder=PLACEHOLDER, **kwargs)  # type: ignore[arg-type]
