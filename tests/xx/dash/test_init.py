from __future__ import annotations

import subprocess
import sys

import pytest

from xx.dash import _parser, create_app


def test_importing_the_package_does_not_load_textual() -> None:
    code = "import sys, xx.dash; assert 'textual' not in sys.modules, 'textual imported'; assert 'httpx' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_cli_options() -> None:
    args = _parser().parse_args(["--url", "http://127.0.0.1:9999", "--token", "t", "--poll", "5"])
    assert (args.url, args.token, args.poll) == ("http://127.0.0.1:9999", "t", 5.0)
    with pytest.raises(SystemExit):
        _parser().parse_args(["--bogus"])


def test_factory_passes_options() -> None:
    app = create_app("http://127.0.0.1:1/", token="tok", poll_s=9.0, starter=None)
    assert app.url == "http://127.0.0.1:1" and app.poll_s == 9.0 and app.starter is None
    assert app.admin.headers == {"x-xx-token": "tok"}
