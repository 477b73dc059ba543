"""The gateway-down banner: hidden while the gateway answers."""

from __future__ import annotations

from textual.widgets import Static


class DownBanner(Static):
    """Shown (class `-shown`) only while there is something to say."""

    _last: str | None = None

    def show(self, text: str | None) -> None:
        self.set_class(text is not None, "-shown")
        if text is not None and text != self._last:
            self._last = text
            self.update(text)

    @property
    def shown(self) -> bool:
        return self.has_class("-shown")
