"""The xx gateway: a local Quart app that routes agent traffic to providers.

`create_app` is imported lazily so that `import gateway.config` (which the launcher's
hot path uses) never pulls in Quart or httpx.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from gateway.app import create_app as create_app


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from gateway.app import create_app

        return create_app
    raise AttributeError(name)
