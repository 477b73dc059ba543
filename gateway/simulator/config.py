"""An xx config whose every provider is the simulator: what `xx demo` runs on, with no API key.

The models mirror the real default config's shapes (an OpenAI-compatible free pool with
account-wide limits, Anthropic models with prices, a Responses model) so the demo exercises
the same routing, quota, caching and cost paths a real setup does.
"""

from __future__ import annotations

# (name, provider, upstream id, extra TOML for the model table)
SIM_MODELS: tuple[tuple[str, str, str, str], ...] = (
    ("sim-kimi", "sim-openai", "sim/kimi-k2.6:free", 'free = true\npool = "sim-free"'),
    ("sim-nemotron", "sim-openai", "sim/nemotron-3-super:free", 'free = true\npool = "sim-free"'),
    ("sim-deepseek", "sim-openai", "sim/deepseek-v4-flash:free", 'free = true\npool = "sim-free"'),
    ("sim-gptoss", "sim-openai", "sim/gpt-oss-120b:free", 'free = true\npool = "sim-free"'),
    ("sim-nano", "sim-openai", "sim/nemotron-3-nano:free", 'free = true\npool = "sim-free"'),
    ("sim-claude", "sim-anthropic", "claude-sim-sonnet",
     "price = { input = 3.0, output = 15.0, cache_read = 0.3, cache_write = 3.75 }"),
    ("sim-haiku", "sim-anthropic", "claude-sim-haiku",
     "price = { input = 1.0, output = 5.0, cache_read = 0.1, cache_write = 1.25 }"),
    ("sim-gpt", "sim-responses", "gpt-sim-5",
     "price = { input = 1.25, output = 10.0, cache_read = 0.125, cache_write = 0.0 }"),
)  # fmt: skip
SIM_MODEL_IDS: tuple[str, ...] = tuple(m[2] for m in SIM_MODELS)

_TIERS = """\
[tiers.free]
letter = "f"
big = ["sim-kimi", "sim-nemotron", "sim-deepseek", "sim-gptoss"]   # cascade, tried in order
middle = ["sim-deepseek", "sim-nemotron", "sim-kimi"]
small = ["sim-nano", "sim-gptoss"]

[tiers.claude]
letter = "c"
big = ["sim-claude", "sim-haiku"]
small = ["sim-haiku", "sim-claude"]

[tiers.gpt]
letter = "g"
big = ["sim-gpt", "sim-gptoss"]
small = ["sim-nano", "sim-gpt"]

[tiers.mixed]
letter = "x"
big = ["sim-claude", "sim-gpt", "sim-kimi"]
middle = ["sim-gpt", "sim-deepseek", "sim-claude"]
small = ["sim-haiku", "sim-nano"]
"""


def sim_config_text(url: str, *, port: int = 8082, state_hint: str = "", rpm: int = 20, rpd: int = 1000) -> str:
    """A complete config (valid for `gateway.config.parse`) pointing every provider at `url`.

    `url` is the simulator's root (`http://127.0.0.1:PORT`, no `/v1`); `port` the gateway's;
    `state_hint` a line or two of comment for the top of the file (where the demo keeps
    its state, how to stop it); `rpm`/`rpd` the shared free pool's limits.
    """
    url = url.rstrip("/")
    hint = "".join(f"# {line}\n" for line in state_hint.splitlines())
    parts = [
        "# xx demo: every provider below is the local simulator; no API key is needed.\n" + hint,
        f'[gateway]\nhost = "127.0.0.1"\nport = {int(port)}\ndefault_tier = "free"\n',
        f'[providers.sim-anthropic]\ndialect = "anthropic"\nbase_url = "{url}"\n',
        f'[providers.sim-openai]\ndialect = "openai"\nbase_url = "{url}/v1"\n',
        f'[providers.sim-responses]\ndialect = "responses"\nbase_url = "{url}/v1"\n',
        f"[pools.sim-free]              # shared by the free models, like OpenRouter's account-wide limits\n"
        f"rpm = {int(rpm)}\nrpd = {int(rpd)}\n",
    ]
    parts += [f'[models.{name}]\nprovider = "{prov}"\nid = "{mid}"\n{extra}\n' for name, prov, mid, extra in SIM_MODELS]
    parts.append(_TIERS)
    parts.append("[breaker]\nfailures = 3\ncooldown_s = 30\n")
    return "\n".join(parts)
