"""What routing reads from the last scan: windows, discovered models and the ranking.

Built once per stored result (and per config reload) so `routing.plan` only does dict
lookups. A configured model matches a scanned one by provider and upstream id and keeps
its configured name; a model the scan found that the config does not name is routed under
its upstream id (OpenRouter's free models come and go faster than configs change).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.config import Config, Model, Price, Tier
from gateway.config.record import field, record

MAX_RANKED = 8  # the cascade a scan-ranked tier tries, at most


@record  # not a dataclass: the launcher reads it on its hot path (see gateway.config.record)
class ScanView:
    scanned_at: float | None = None
    windows: Mapping[str, int] = field(default_factory=dict)  # model name -> context window
    models: Mapping[str, Model] = field(default_factory=dict)  # scanned models the config does not name
    scores: Mapping[str, float] = field(default_factory=dict)  # usable model name -> score (0..1)
    ranked: tuple[str, ...] = ()  # usable names, best first
    unusable: Mapping[str, str] = field(default_factory=dict)  # name -> why the scan rejected it

    @property
    def exists(self) -> bool:
        return self.scanned_at is not None

    def model(self, name: str, config: Config) -> Model | None:
        return config.models.get(name) or self.models.get(name)

    def ranking(self, tier: Tier, role: str, config: Config) -> list[str]:
        """A `rank = "scan"` tier: best scored first, then the listed models the scan did not rank.

        A tier whose listed models are all free (`f`) keeps to free models; one without lists (`m`)
        takes any usable model. Models the scan found broken go last, never first.
        """
        listed = list(dict.fromkeys(tier.models_for(role)))
        if role == "small" and tier.roles.get("small"):
            return listed  # side calls want the fast, plentiful models the list names, not the best agent
        best = self.best(tier, config)
        if not best and not listed:
            listed = list(config.models)  # the scan ranked nothing: every configured model, as before it
        rest = [n for n in listed if n not in best and n not in self.unusable]
        broken = [n for n in listed if n in self.unusable and n not in best]
        return best + rest + broken

    def best(self, tier: Tier, config: Config) -> list[str]:
        """The scan's best usable models for this tier (free ones only for a tier that lists only free ones)."""
        listed = tier.models_for("big")
        free_only = bool(listed) and all(_free(config.models.get(n)) for n in listed)
        return [n for n in self.ranked if not free_only or _free(self.model(n, config))][:MAX_RANKED]

    def big_windows(self, tier: Tier, config: Config) -> list[int]:
        """The known windows of the models a `big` turn of this tier is meant for (the launcher's compaction input).

        For a scan-ranked tier, the scan's best (the models it routes to while they work); a fallback to a
        smaller window further down is refused by routing with the compaction error instead.
        """
        names = self.best(tier, config) if tier.rank == "scan" and self.exists else []
        names = names or list(tier.models_for("big")) or (list(config.models) if tier.rank else [])
        out = []
        for n in names:
            m = self.model(n, config)
            w = (m.context if m else None) or self.windows.get(n)
            if w:
                out.append(w)
        return out


def _free(model: Model | None) -> bool:
    return model is not None and model.free


def build(result: Mapping[str, Any] | None, config: Config) -> ScanView:
    """The view of a stored scan result (store.load) against the current config."""
    if not result or not isinstance(result.get("models"), list):
        return ScanView()
    by_id = {(m.provider, m.id): m.name for m in config.models.values()}
    windows: dict[str, int] = {}
    models: dict[str, Model] = {}
    scores: dict[str, float] = {}
    unusable: dict[str, str] = {}
    for entry in result["models"]:
        provider, mid = entry.get("provider"), entry.get("id")
        if provider not in config.providers or not isinstance(mid, str):
            continue
        name = by_id.get((provider, mid), mid)
        if isinstance(entry.get("context"), int) and entry["context"] > 0:
            windows[name] = entry["context"]
        if not entry.get("usable"):
            reason = str(entry.get("reason") or "rejected by the scan")
            if not reason.startswith("not probed"):  # unknown is not broken
                unusable[name] = reason
            continue
        if name not in config.models:
            models[name] = _discovered(name, provider, mid, entry)
        scores[name] = float(entry.get("score") or 0.0)
    for entry in result.get("skipped") or []:  # rejected before probing: only the configured ones matter here
        name = by_id.get((entry.get("provider"), entry.get("id"))) if isinstance(entry, Mapping) else None
        if name is None:
            continue
        if isinstance(entry.get("context"), int) and entry["context"] > 0:
            windows[name] = entry["context"]
        reason = str(entry.get("reason") or "")
        if reason and not reason.startswith(("no context length", "expires on")):  # those still work today
            unusable[name] = reason
    ranked = tuple(sorted(scores, key=lambda n: -scores[n]))
    return ScanView(float(result.get("scanned_at") or 0.0), windows, models, scores, ranked, unusable)


def _discovered(name: str, provider: str, mid: str, entry: Mapping[str, Any]) -> Model:
    p = entry.get("price") if isinstance(entry.get("price"), Mapping) else {}
    price = Price(**{k: float(p.get(k) or 0.0) for k in ("input", "output", "cache_read", "cache_write")})
    return Model(name=name, provider=provider, id=mid, free=bool(entry.get("free")), price=price,
                 context=entry.get("context") if isinstance(entry.get("context"), int) else None)


def model_fields(view: ScanView, model: Model) -> dict[str, Any]:
    """What `/xx/models` adds per model: context window (and where it came from), score, scan time."""
    window = model.context or view.windows.get(model.name)
    source = "config" if model.context else "scan" if window else None
    return {"context": window, "context_source": source, "score": view.scores.get(model.name),
            "scan_rejected": view.unusable.get(model.name), "scanned_at": view.scanned_at}


def advertised_window(view: ScanView, config: Config, name: str, tier: str | None, default: int) -> int:
    """The `context_length` the gateway's model lists tell agents (Hermes reads it before each turn): a
    configured (or scanned) model's own window; for any other name (`xx-big`: the tier decides) the largest
    `big` window of the tier in the URL, what the tier can serve at all (routing skips the smaller models for
    a longer prompt; Hermes refuses a model under 64K outright); `default` when unknown."""
    model = view.model(name, config)
    if model is not None:
        return model.context or view.windows.get(name) or default
    t = config.tier_named(tier or config.gateway.default_tier)
    windows = view.big_windows(t, config) if t is not None else []
    return max(windows) if windows else default
