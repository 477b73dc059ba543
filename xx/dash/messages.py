"""The app's own messages: small dataclasses."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from xx.dash.state import Event


@dataclass
class FeedWaiting(Message):
    """Events are queued for the next apply. Many may be posted in a burst; one is enough."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, FeedWaiting)


@dataclass
class BatchApplied(Message):
    """A batch of events reached the state and the screen (tests and the benchmark listen)."""

    events: tuple[Event, ...]
    at: float
