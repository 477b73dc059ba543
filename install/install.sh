#!/usr/bin/env bash
# One-step installer for xx. Safe to run again: it upgrades in place.
#
#   bash install/install.sh                  # from the checkout this script sits in
#   bash install/install.sh /path/to/xx      # from another checkout
#   bash install/install.sh git+https://…    # from a git URL (anything pip/uv/pipx accepts)
#
# Installs with `uv tool` or `pipx` when present, else into its own venv under
# ${XDG_DATA_HOME:-~/.local/share}/xx/venv, links `xx` into ~/.local/bin, then offers the aliases.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: install.sh [SOURCE] [--yes] [--no-aliases] [--method uv|pipx|venv] [-h|--help]

Install the xx launcher and gateway for this user.

  SOURCE         a checkout directory or a git URL (default: the checkout containing this script)
  --yes          write the shell aliases without asking (`xx install`)
  --no-aliases   do not offer the shell aliases
  --method M     force the installer: uv, pipx or venv (default: first of uv, pipx, venv found)
  -h, --help     this help

Environment: XDG_DATA_HOME (venv location), XX_BIN_DIR (default ~/.local/bin), PYTHON (default python3).
EOF
}

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source_arg=""
aliases="ask"
method=""
while [ $# -gt 0 ]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --yes|-y) aliases="yes" ;;
        --no-aliases) aliases="no" ;;
        --method) shift; method="${1:-}" ;;
        --method=*) method="${1#--method=}" ;;
        -*) echo "install.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
        *) source_arg="$1" ;;
    esac
    shift
done

src="${source_arg:-$(dirname "$here")}"
if [ -d "$src" ]; then
    src="$(cd "$src" && pwd)"
    [ -f "$src/pyproject.toml" ] || { echo "install.sh: $src has no pyproject.toml: not an xx checkout" >&2; exit 1; }
fi

python="${PYTHON:-python3}"

# The venv method needs Python >= 3.11; say which of "missing", "broken" or "older" it is.
check_python() {
    local py="$1" ver
    if ! command -v "$py" >/dev/null 2>&1; then
        echo "install.sh: $py not found: install Python 3.11 or newer, or set PYTHON=/path/to/python3.11" >&2
        exit 1
    fi
    if ! ver="$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" || [ -z "$ver" ]; then
        echo "install.sh: $py does not run as Python; set PYTHON=/path/to/python3.11 (or newer)" >&2
        exit 1
    fi
    local major="${ver%%.*}" minor="${ver#*.}"
    if [ "$major" -lt 3 ] || { [ "$major" -eq 3 ] && [ "$minor" -lt 11 ]; }; then
        echo "install.sh: xx needs Python 3.11 or newer; $py is $ver: set PYTHON=/path/to/python3.11 (or newer)" >&2
        exit 1
    fi
}
bin_dir="${XX_BIN_DIR:-$HOME/.local/bin}"
data_dir="${XDG_DATA_HOME:-$HOME/.local/share}/xx"
venv="$data_dir/venv"

if [ -z "$method" ]; then
    if command -v uv >/dev/null 2>&1; then method="uv"
    elif command -v pipx >/dev/null 2>&1; then method="pipx"
    else method="venv"; fi
fi

mkdir -p "$bin_dir"
case "$method" in
    uv)
        echo "installing xx from $src with uv tool"
        UV_TOOL_BIN_DIR="$bin_dir" uv tool install --force --reinstall "$src"
        xx_bin="$bin_dir/xx"
        ;;
    pipx)
        echo "installing xx from $src with pipx"
        PIPX_BIN_DIR="$bin_dir" pipx install --force "$src"
        xx_bin="$bin_dir/xx"
        ;;
    venv)
        check_python "$python"
        if [ ! -x "$venv/bin/python" ]; then
            echo "creating $venv"
            mkdir -p "$data_dir"
            "$python" -m venv "$venv"
        fi
        echo "installing xx from $src into $venv"
        "$venv/bin/python" -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
        "$venv/bin/python" -m pip install --quiet --upgrade "$src"
        ln -sfn "$venv/bin/xx" "$bin_dir/xx"
        xx_bin="$bin_dir/xx"
        ;;
    *) echo "install.sh: --method must be uv, pipx or venv" >&2; exit 2 ;;
esac

"$xx_bin" --version
case ":$PATH:" in
    *":$bin_dir:"*) ;;
    *) echo "note: $bin_dir is not on PATH; add it in your shell rc: export PATH=\"$bin_dir:\$PATH\"" ;;
esac

if [ "$aliases" = "ask" ]; then
    if [ -t 0 ]; then
        "$xx_bin" install --dry-run || true
        printf 'write these aliases (cc, hsi, codex-run, …)? [y/N] '
        read -r answer || answer=""
        case "$answer" in y|Y|yes) aliases="yes" ;; *) aliases="no" ;; esac
    else
        aliases="no"
        echo "aliases not written (no terminal to ask): run \`xx install\` when you want them"
    fi
fi
if [ "$aliases" = "yes" ]; then
    "$xx_bin" install
fi
echo "done: try \`xx doctor\`, then \`xx cip\` (Claude Code through the gateway) or \`xx\` for the picker"
