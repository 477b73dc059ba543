"""The corpus stays what its index says: byte-exact copies, each with its source and its license text.

A recording edited by hand (an editor that strips trailing spaces, a reformatted JSON file) would
still replay, and the matrix would then prove translation on something no provider sent.
"""

from __future__ import annotations

import json

from support.replay_upstream import ROOT, load_index

RECORDINGS = load_index()
LICENSE_FILES = {
    "github.com/vercel/ai": "LICENSE-vercel-ai.txt",
    "github.com/pydantic/pydantic-ai": "LICENSE-pydantic-ai.txt",
    "github.com/simonw/llm-openrouter": "LICENSE-llm-openrouter.txt",
    "github.com/simonw/llm-anthropic": "LICENSE-llm-anthropic.txt",
    "github.com/simonw/llm": "LICENSE-llm.txt",
}
PERMISSIVE = {"MIT", "Apache-2.0", "BSD-2-Clause", "BSD-3-Clause"}


def test_every_file_has_the_recorded_size_and_parses() -> None:
    for rec in RECORDINGS:
        raw = rec.raw()
        assert len(raw) == rec.meta["bytes"], rec.name
        if rec.stream:
            assert rec.events(), rec.name
        else:
            json.loads(raw)


def test_every_file_is_indexed_once() -> None:
    indexed = [rec.meta["file"] for rec in RECORDINGS]
    assert len(indexed) == len(set(indexed))
    on_disk = {str(p.relative_to(ROOT)) for p in ROOT.rglob("*")
               if p.is_file() and p.name != "INDEX.toml" and not p.name.startswith("LICENSE-")}
    assert on_disk == set(indexed)


def test_every_source_is_permissive_with_its_license_text_here() -> None:
    for rec in RECORDINGS:
        meta = rec.meta
        assert meta["license"] in PERMISSIVE, rec.name
        assert len(meta["commit"]) == 40 and meta["path"], rec.name
        assert (ROOT / LICENSE_FILES[meta["repo"]]).is_file(), meta["repo"]
        assert ("interaction" in meta) == (meta["repo"] != "github.com/vercel/ai"), rec.name  # cassettes say which
