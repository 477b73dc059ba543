"""`xx` with no arguments: a small Textual picker that builds a code and launches it.

The only module on the launch path that imports Textual. It shows the code and the exact
command line live (the same pure `plan` a launch uses); Enter closes the app and then
hands the chosen argv to `xx.launch.main`, which execs the agent in the restored terminal.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Input, Label, Select, Static

from gateway.config import Config, load, paths
from xx import codes, profiles
from xx.plan import Options, PlanError, plan


@dataclass(frozen=True)
class Choice:
    agent: str = "c"
    mode: str = "i"
    route: str = "p"
    tier: str = ""          # "" = the config's default tier
    model: str = ""
    session: str = ""
    prompt: str = ""

    def code(self) -> str:
        if self.route == "d" or not self.tier:
            return self.agent + self.mode + self.route
        return self.agent + self.mode + self.route + self.tier

    def argv(self) -> list[str]:
        out = [self.code()]
        for flag, value in (("-m", self.model), ("-s", self.session), ("-p", self.prompt)):
            if value:
                out += [flag, value]
        return out


class Picker(App[list[str] | None]):
    """Returns the argv for `xx.launch.main`, or None when cancelled."""

    CSS = """
    Screen { padding: 1 2; }
    Horizontal { height: auto; }
    Select { width: 1fr; }
    Input { width: 1fr; }
    #code { margin-top: 1; text-style: bold; }
    #command { color: $text-muted; }
    #error { color: $error; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "quit_picker", "cancel"), Binding("ctrl+l", "launch", "launch")]

    def __init__(self, config: Config, profs: dict[str, profiles.Profile]) -> None:
        super().__init__()
        self.config = config
        self.profs = profs
        self.choice = Choice(agent=min(profiles.by_letter(profs)) if "c" not in profiles.by_letter(profs) else "c")

    def compose(self) -> ComposeResult:
        by_letter = profiles.by_letter(self.profs)
        agents = [(f"{p.letter}  {p.name}" + ("" if p.verified else " (unverified)"), p.letter) for p in sorted(by_letter.values(), key=lambda p: p.letter)]
        tiers = [("default tier", "")] + [(f"{t.letter}  {t.name}", t.letter) for t in self.config.tiers.values()]
        with Vertical():
            with Horizontal():
                yield Select(agents, value=self.choice.agent, allow_blank=False, id="agent")
                yield Select([(f"{k}  {v}", k) for k, v in codes.MODES.items()], value="i", allow_blank=False, id="mode")
            with Horizontal():
                yield Select([(f"{k}  {v}", k) for k, v in codes.ROUTES.items()], value="p", allow_blank=False, id="route")
                yield Select(tiers, value="", allow_blank=False, id="tier")
            with Horizontal():
                yield Input(placeholder="model (-m, optional)", id="model")
                yield Input(placeholder="session id (-s, mode s)", id="session")
            yield Input(placeholder="prompt (-p, required by mode n) — Enter launches", id="prompt")
            yield Label("", id="code")
            yield Static("", id="command")
            yield Static("", id="error")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_preview()

    def on_select_changed(self, event: Select.Changed) -> None:
        key = event.select.id or ""
        value = "" if event.value is Select.BLANK else str(event.value)
        self.choice = Choice(**{**self.choice.__dict__, key: value})
        self.refresh_preview()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.choice = Choice(**{**self.choice.__dict__, event.input.id or "": event.value})
        self.refresh_preview()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_launch()

    def preview(self) -> tuple[str | None, str | None]:
        """(command line, error) for the current choice."""
        c = self.choice
        try:
            letters = {p.letter: p.name for p in self.profs.values()}
            spec = codes.decode(c.code(), letters, [t.letter for t in self.config.tiers.values()])
            opts = Options(
                model=c.model or None, session=c.session or None, prompt=c.prompt or None,
                environ=dict(os.environ), state_dir=paths.state_dir(), is_root=os.geteuid() == 0,
            )
            lp = plan(spec, self.profs[spec.agent], self.config, opts)
        except (codes.CodeError, PlanError) as exc:
            return None, str(exc)
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in lp.to_json()["env"].items() if v is not None)  # type: ignore[union-attr]
        return (env + " " if env else "") + shlex.join(lp.to_json()["argv"]), None  # type: ignore[arg-type]

    def refresh_preview(self) -> None:
        command, error = self.preview()
        self.query_one("#code", Label).update("xx " + shlex.join(self.choice.argv()))
        self.query_one("#command", Static).update(command or "")
        self.query_one("#error", Static).update(error or "")

    def action_launch(self) -> None:
        if self.preview()[1] is None:
            self.exit(self.choice.argv())

    def action_quit_picker(self) -> None:
        self.exit(None)


def main(argv: list[str]) -> int:
    from xx import launch

    app = Picker(load(), profiles.load_all())
    chosen = app.run()
    if not chosen:
        return 0
    return launch.main(chosen)
