"""Attach the launcher to a team gateway elsewhere: `XX_GATEWAY_URL` plus `XX_GATEWAY_TOKEN`.

With `XX_GATEWAY_URL` set, `xx <code>` starts no local gateway: it points the agent at that
URL, hands the agent the token (a team token from `xx gateway token create`) as its API key,
checks that an xx gateway answers there, and asks its `/xx/ready` whether the tier can serve.
A remote gateway is never restarted or stopped from here. Stdlib only (the launch hot path).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ENV_URL = "XX_GATEWAY_URL"
ENV_TOKEN = "XX_GATEWAY_TOKEN"


def target(environ: Mapping[str, str]) -> tuple[str, str | None] | None:
    """(url, token) of the remote gateway, or None to run the local one as usual."""
    url = (environ.get(ENV_URL) or "").strip().rstrip("/")
    if not url:
        return None
    return url, environ.get(ENV_TOKEN) or None


def _get(url: str, token: str | None, timeout: float) -> tuple[int, Any]:
    from xx.supervisor import get_json

    return get_json(url, {"authorization": f"Bearer {token}"} if token else {}, timeout)


def check(environ: Mapping[str, str], agent: str, route: str, tier: str | None, model: str | None) -> str | None:
    """None when the remote gateway answers and can serve; else one line saying what is wrong."""
    from xx import preflight

    remote = target(environ)
    assert remote is not None
    url, token = remote
    try:
        status, body = _get(url + "/health", token, 3.0)
    except (OSError, ValueError) as exc:
        return f"no gateway answers at {ENV_URL}={url} ({exc})"
    if status != 200 or not isinstance(body, dict) or body.get("service") != "xx-gateway":
        return f"{ENV_URL}={url} is not an xx gateway (/health answered {status})"
    try:
        status, doc = _get(url + preflight.ready_query(agent, route, tier, model), token, 3.0)
    except (OSError, ValueError):
        return None  # liveness is proven; a slow preflight does not block the launch
    if status == 401:
        return f"the gateway at {url} refused the token: set {ENV_TOKEN} to a token from `xx gateway token create`"
    if status == 200 and isinstance(doc, dict):
        verdict = preflight.from_ready(doc)
        if not verdict.ok:
            return f"{verdict.reason}" + (f" ({verdict.fix})" if verdict.fix else "")
    return None
