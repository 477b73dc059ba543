"""The layout's own rules, checked on every run: small modules, small functions, light imports.

Modules under 400 lines and functions under 60 in `gateway/` and `xx/` (walked with `ast`,
so a new file is covered the day it lands); and `import gateway` / `import gateway.config`
(what the launcher imports) pull in neither the dashboard (`textual`), nor the launcher
(`xx`), nor the server (`quart`): the launcher's hot path stays fast and the gateway stays
headless.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def sources() -> list[Path]:
    return sorted(p for pkg in ("gateway", "xx") for p in (ROOT / pkg).rglob("*.py"))


def test_no_module_over_400_lines() -> None:
    big = {str(p.relative_to(ROOT)): n for p in sources() if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES}
    assert not big, f"split these modules (limit {MAX_MODULE_LINES} lines): {big}"


def test_no_function_over_60_lines() -> None:
    long: dict[str, int] = {}
    for path in sources():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = (node.end_lineno or node.lineno) - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"] = n
    assert not long, f"split these functions (limit {MAX_FUNCTION_LINES} lines): {long}"


@pytest.mark.parametrize("module", ["gateway", "gateway.config"])
def test_importing_the_gateway_pulls_in_no_ui_no_launcher_no_server(module: str) -> None:
    code = (f"import sys, json; import {module}; "
            "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    loaded = set(json.loads(out))
    assert not loaded & {"textual", "xx", "quart", "hypercorn", "aiohttp"}, sorted(loaded & {"textual", "xx", "quart"})
