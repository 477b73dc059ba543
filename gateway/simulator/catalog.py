"""A simulated OpenRouter catalog: the model list and per-model endpoints, with models that misbehave.

The JSON follows OpenRouter's documented shapes (`GET /api/v1/models`, `GET /api/v1/models/{author}/
{slug}/endpoints`: context_length, architecture modalities, pricing in $ per token as strings,
supported_parameters, expiration_date, per-endpoint uptime/latency/throughput). Each model has a
behaviour the chat endpoints act out when a request offers tools, so a scan sees what it would see
live: `good` calls the tool with valid JSON, `broken` sends arguments that are not JSON, `text`
answers without calling, `timeout` stalls far longer than any probe waits, `slow` streams slowly.
Models the scan must skip before probing: no tools, too small a window, expiring, no context
length, image output, and paid ones nobody configured.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from gateway.simulator.answers import Prompt
from gateway.simulator.faults import Fault

TIMEOUT_STALL_S = 120.0
SLOW_DELAY_S = 0.05
_TOOLS = ["tools", "tool_choice", "max_tokens", "temperature", "top_p", "stop", "response_format"]
_PLAIN = ["max_tokens", "temperature", "top_p", "stop"]
DAY = 86400

# id: (name, context or None, prompt $/token, completion $/token, params, out modalities, behaviour, endpoint facts,
#      expires in days or None)
MODELS: dict[str, tuple[Any, ...]] = {
    "moonshotai/kimi-k2.6:free": ("MoonshotAI: Kimi K2.6 (free)", 262144, "0", "0", _TOOLS, ["text"], "good",
                                  {"uptime": 99.2, "latency": 0.9, "throughput": 55.0, "caching": True}, None),
    "deepseek/deepseek-v4-flash:free": ("DeepSeek: V4 Flash (free)", 163840, "0", "0", _TOOLS, ["text"], "good",
                                        {"uptime": 99.6, "latency": 0.5, "throughput": 110.0, "caching": True}, None),
    "nvidia/nemotron-3-super-120b-a12b:free": ("NVIDIA: Nemotron 3 Super (free)", 131072, "0", "0", _TOOLS, ["text"],
                                               "slow", {"uptime": 96.5, "latency": 1.8, "throughput": 18.0,
                                                        "caching": False}, None),
    "openai/gpt-oss-120b:free": ("OpenAI: gpt-oss-120b (free)", 131072, "0", "0", _TOOLS, ["text"], "broken",
                                 {"uptime": 98.0, "latency": 0.7, "throughput": 90.0, "caching": False}, None),
    "qwen/qwen3-coder:free": ("Qwen: Qwen3 Coder 480B (free)", 262144, "0", "0", _TOOLS, ["text"], "timeout",
                              {"uptime": 71.0, "latency": 4.0, "throughput": 30.0, "caching": False}, None),
    "minimax/minimax-m2:free": ("MiniMax: M2 (free)", 204800, "0", "0", _TOOLS, ["text"], "text",
                                {"uptime": 98.5, "latency": 1.1, "throughput": 60.0, "caching": False}, None),
    "meta-llama/llama-4-scout:free": ("Meta: Llama 4 Scout (free)", 131072, "0", "0", _PLAIN, ["text"], "good",
                                      {"uptime": 99.0, "latency": 0.6, "throughput": 80.0, "caching": False}, None),
    "google/gemma-3-4b-it:free": ("Google: Gemma 3 4B (free)", 8192, "0", "0", _TOOLS, ["text"], "good",
                                  {"uptime": 99.0, "latency": 0.3, "throughput": 150.0, "caching": False}, None),
    "mistralai/devstral-small:free": ("Mistral: Devstral Small (free)", 131072, "0", "0", _TOOLS, ["text"], "good",
                                      {"uptime": 99.0, "latency": 0.6, "throughput": 70.0, "caching": False}, 2),
    "z-ai/glm-4.5-air:free": ("Z.AI: GLM 4.5 Air (free)", None, "0", "0", _TOOLS, ["text"], "good",
                              {"uptime": 99.0, "latency": 0.8, "throughput": 60.0, "caching": False}, None),
    "black-forest-labs/flux-2:free": ("Black Forest Labs: FLUX.2 (free)", 32768, "0", "0", _PLAIN, ["image"], "good",
                                      {"uptime": 99.0, "latency": 2.0, "throughput": 1.0, "caching": False}, None),
    "anthropic/claude-sonnet-4.6": ("Anthropic: Claude Sonnet 4.6", 1000000, "0.000003", "0.000015", _TOOLS, ["text"],
                                    "good", {"uptime": 99.9, "latency": 1.2, "throughput": 70.0, "caching": True}, None),
}


def models_json(now: float | None = None) -> dict[str, Any]:
    now = time.time() if now is None else now
    return {"data": [_model(mid, spec, now) for mid, spec in MODELS.items()]}


def _model(mid: str, spec: tuple[Any, ...], now: float) -> dict[str, Any]:
    name, ctx, prompt, completion, params, outs, _, _facts, expires = spec
    expiry = time.strftime("%Y-%m-%d", time.gmtime(now + expires * DAY)) if expires is not None else None
    return {
        "id": mid, "canonical_slug": mid.split(":")[0], "name": name, "created": 1_760_000_000,
        "description": f"{name}, as the simulator serves it.", "context_length": ctx,
        "architecture": {"modality": f"text->{outs[0]}", "input_modalities": ["text"], "output_modalities": outs,
                         "tokenizer": "Other", "instruct_type": None},
        "pricing": {"prompt": prompt, "completion": completion, "request": "0", "image": "0",
                    "input_cache_read": "0" if prompt == "0" else str(float(prompt) / 10)},
        "top_provider": {"context_length": ctx, "max_completion_tokens": 32768, "is_moderated": False},
        "per_request_limits": None, "supported_parameters": params, "default_parameters": {},
        "expiration_date": expiry, "links": {"details": f"/api/v1/models/{mid.split(':')[0]}/endpoints"},
    }  # fmt: skip


def endpoints_json(slug: str) -> dict[str, Any] | None:
    """`slug` is `author/name`, with or without a `:free` variant (the variant's own endpoints first)."""
    found = sorted(((mid, spec) for mid, spec in MODELS.items() if slug in (mid, mid.split(":")[0])),
                   key=lambda item: item[0] != slug)
    if not found:
        return None
    mid, spec = found[0]
    name, ctx, prompt, completion, params, outs, _, facts, _ = spec
    eps = [{
        "name": f"SimProvider | {mid}", "model_name": name, "context_length": ctx,
        "pricing": {"prompt": prompt, "completion": completion, "request": "0", "image": "0"},
        "provider_name": "SimProvider", "tag": "simprovider", "quantization": "fp8",
        "max_completion_tokens": 32768, "max_prompt_tokens": ctx, "supported_parameters": params, "status": 0,
        "uptime_last_30m": facts["uptime"], "uptime_last_1d": facts["uptime"],
        "supports_implicit_caching": facts["caching"],
        "latency_last_30m": {"p50": facts["latency"], "p75": facts["latency"] * 1.3, "p90": facts["latency"] * 1.8,
                             "p99": facts["latency"] * 3},
        "throughput_last_30m": {"p50": facts["throughput"], "p75": facts["throughput"] * 0.8,
                                "p90": facts["throughput"] * 0.6, "p99": facts["throughput"] * 0.3},
    }]  # fmt: skip
    return {"data": {"id": mid, "name": name, "created": 1_760_000_000, "description": spec[0],
                     "architecture": {"input_modalities": ["text"], "output_modalities": outs}, "endpoints": eps}}


def behaviour(model: str) -> str | None:
    spec = MODELS.get(model)
    return spec[6] if spec else None


def fault_for(model: str) -> Fault | None:
    """The catalog model's timing: a stall no probe waits out, or a slow stream."""
    kind = behaviour(model)
    if kind == "timeout":
        return Fault(stall=TIMEOUT_STALL_S)
    if kind == "slow":
        return Fault(delay=SLOW_DELAY_S)
    return None


def steer(prompt: Prompt, body: Any) -> None:
    """Make a catalog model act out its behaviour on a request that offers tools.

    Through the prompt's directive text, so `answers.decide` builds the reply as for any
    `[[tool:...]]` / `[[rawtool:...]]` directive (a tool result's follow-up is answered as usual).
    """
    kind = behaviour(prompt.model)
    if kind is None or kind == "text" or prompt.tool_result is not None:
        return  # the hot path: not a catalog model
    tool = _first_tool(body)
    if tool is None:
        return
    name, args = tool
    if kind == "broken":
        prompt.directive_text = f'[[rawtool:{name} {{"path": "README.md", "limit": 20]]'
    else:
        prompt.directive_text = f"[[tool:{name} {json.dumps(args)}]]"


def _first_tool(body: Any) -> tuple[str, dict[str, Any]] | None:
    tools = body.get("tools") if isinstance(body, Mapping) else None
    if not isinstance(tools, list) or not tools or not isinstance(tools[0], Mapping):
        return None
    t = tools[0]
    fn = t.get("function") if isinstance(t.get("function"), Mapping) else t
    schema = fn.get("parameters") or fn.get("input_schema") or {}
    name = fn.get("name")
    if not isinstance(name, str):
        return None
    props = schema.get("properties") if isinstance(schema, Mapping) else None
    required = schema.get("required") if isinstance(schema, Mapping) else None
    args = {k: "README.md" for k in (required or []) if isinstance(props, Mapping) and k in props}
    return name, args



def scan_config_text(url: str, *, port: int = 8082, context: int | None = None, extra: str = "") -> str:
    """A config whose providers are the simulated catalog (OpenRouter's shape), a catalog that is not
    JSON, and an OpenAI-compatible list without windows, with tiers `f` and `m` ranked by the scan.

    `context` sets every configured OpenRouter model's window (the 32k-window test tiers).
    """
    url = url.rstrip("/")
    ctx = f"context = {context}\n" if context else ""
    configured = [("kimi-free", "moonshotai/kimi-k2.6:free"), ("gptoss-free", "openai/gpt-oss-120b:free"),
                  ("qwen-coder-free", "qwen/qwen3-coder:free"), ("glm-free", "z-ai/glm-4.5-air:free")]
    models = "".join(f'[models.{n}]\nprovider = "openrouter"\nid = "{i}"\nfree = true\n{ctx}\n' for n, i in configured)
    return (
        f'[gateway]\nhost = "127.0.0.1"\nport = {int(port)}\ndefault_tier = "free"\n\n'
        f'[providers.openrouter]\ndialect = "openai"\nbase_url = "{url}/api/v1"\n\n'
        f'[providers.flaky]\ndialect = "openai"\nbase_url = "{url}/bad/api/v1"\n\n'
        f'[providers.compat]\ndialect = "openai"\nbase_url = "{url}/v1"\n\n'
        f"{models}"
        '[models.flaky-model]\nprovider = "flaky"\nid = "some/model"\n\n'
        '[models.compat-nowindow]\nprovider = "compat"\nid = "sim/nemotron-3-nano:free"\nfree = true\n\n'
        '[models.compat-kimi]\nprovider = "compat"\nid = "sim/kimi-k2.6:free"\nfree = true\ncontext = 65536\n\n'
        '[tiers.free]\nletter = "f"\nrank = "scan"\nbig = ["kimi-free", "gptoss-free", "qwen-coder-free"]\n'
        'small = ["gptoss-free", "kimi-free"]\n\n'
        '[tiers.best]\nletter = "m"\nrank = "scan"\n\n'
        f"[scan]\nmax_age_h = 24\nbudget = 8\n{extra}"
    )
