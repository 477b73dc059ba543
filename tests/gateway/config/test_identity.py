"""The identity both the launcher and the gateway compute: config path and hash, key names and fingerprints."""

from __future__ import annotations

from pathlib import Path

from gateway.config import identity

CONFIG = """\
[gateway]
port = 8099
# token = "$XX_GATEWAY_TOKEN"

[providers.or]
protocol = "openai"
base_url = "https://example.invalid/v1"
api_key = "$OR_KEY"
api_keys = ["$OR_KEY", "${OR_KEY_2}"]
headers = { x-extra = "$EXTRA_HEADER" }

[models.m]
provider = "or"
id = "m"

[tiers.free]
letter = "f"
big = ["m"]
"""


def write(tmp_path: Path, text: str = CONFIG) -> Path:
    cfg = tmp_path / "config.toml"
    cfg.write_text(text)
    return cfg


def test_key_names_are_every_var_reference_and_never_values(tmp_path: Path) -> None:
    cfg = write(tmp_path)
    assert identity.key_names(str(cfg)) == ["EXTRA_HEADER", "OR_KEY", "OR_KEY_2"]
    doc = identity.describe(str(cfg), {"OR_KEY": "sk-secret-value-1"})
    assert doc["keys"] == {"EXTRA_HEADER": None, "OR_KEY": identity.fingerprint("sk-secret-value-1"), "OR_KEY_2": None}
    assert "sk-secret" not in repr(doc) and len(doc["keys"]["OR_KEY"]) == 8
    assert doc["config"] == str(cfg.resolve()) and doc["demo"] is False


def test_fingerprint_changes_with_the_value() -> None:
    assert identity.fingerprint("a") != identity.fingerprint("b")
    assert identity.fingerprint("a") == identity.fingerprint("a")
    assert identity.fingerprint("") is None and identity.fingerprint(None) is None


def test_config_hash_follows_the_bytes(tmp_path: Path) -> None:
    cfg = write(tmp_path)
    before = identity.config_hash(str(cfg))
    cfg.write_text(CONFIG + "\n# a comment\n")
    assert identity.config_hash(str(cfg)) != before
    assert identity.config_hash(str(tmp_path / "missing.toml")) is None
    assert identity.config_hash("<default>") == identity.config_hash(str(identity.default_path()))


def test_key_differences_count_only_what_the_launcher_holds() -> None:
    fp = identity.fingerprint
    want = {"A": fp("1"), "B": None, "C": fp("3")}
    assert identity.key_differences(want, {"A": fp("1"), "B": fp("2"), "C": fp("3")}) == []
    assert identity.key_differences(want, {"A": None, "C": fp("3")}) == ["A was set after the gateway started"]
    assert identity.key_differences(want, {"A": fp("1"), "C": fp("x")}) == ["C changed since the gateway started"]
