"""Which table columns fit in a given width, and how to shorten text without cutting a word.

Pure and Textual-free, so the choice made at 80, 120, 160 and 220 columns can be tested on
its own. A table is a list of `Col`s: fixed columns take the width of their widest cell (the
label included), one flexible column takes whatever is left. When even the flexible column's
minimum does not fit, optional columns are dropped, least important first; the key columns
(priority 0) are never dropped. The DataTable then gets explicit widths, so nothing hides
behind a horizontal scrollbar.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text

PAD = 2  # DataTable cell padding: one cell each side
GUTTER = 1  # the vertical scrollbar (one cell, see dash.tcss), reserved whether it shows or not
ELLIPSIS = "…"
BREAKS = " "


@dataclass(frozen=True, slots=True)
class Col:
    key: str
    label: str
    priority: int = 0  # 0 = always shown; higher numbers are dropped first
    flex: bool = False  # takes the width left over (one per table)
    min_width: int = 0  # for the flexible column: below this, drop optional columns instead
    max_width: int = 0  # 0 = no cap (a fixed column never needs one: its cells are short)


def clip_words(text: Text, width: int) -> Text:
    """Shorten to `width` cells at a word boundary, ending with `…`; a word is never cut in two.

    When not even the first word fits, the result is `…` alone (what was there is still marked).
    """
    if text.cell_len <= width:
        return text
    if width <= 0:
        return Text()
    plain = text.plain
    limit = width - 1  # room for the ellipsis
    cut = max((i for i, ch in enumerate(plain[: limit + 1]) if ch in BREAKS), default=0)
    out = text[:cut].copy()
    out.rstrip()
    out.append(ELLIPSIS, style="dim")
    return out


def fit_forms(forms: Sequence[Text], width: int) -> Text:
    """The first of `forms` (fullest first) that fits in `width`, else the last one clipped at a word.

    For a cell that can say the same thing shorter by dropping whole parts (the requests log's
    route: the requested name before the served model), which `clip_words` alone cannot.
    """
    for form in forms:
        if form.cell_len <= width:
            return form
    return clip_words(forms[-1], width) if forms else Text()


def widths(
    cols: Sequence[Col], cells: Sequence[Sequence[Text]], total: int
) -> tuple[list[Col], list[int]]:
    """Choose the columns shown and their widths so the table fits in `total` cells.

    `cells[r][c]` is row r's cell for `cols[c]`. Returns the kept columns and one width each.
    """
    return widths_of(cols, [[c.cell_len for c in row] for row in cells], total)


def widths_of(
    cols: Sequence[Col], lens: Sequence[Sequence[int]], total: int
) -> tuple[list[Col], list[int]]:
    """`widths` from the cells' lengths (which a caller may have cached per row)."""
    natural = []
    for i, col in enumerate(cols):
        w = max([len(col.label), *(row[i] for row in lens)])
        natural.append(min(w, col.max_width) if col.max_width else w)
    keep = list(range(len(cols)))
    budget = total - GUTTER

    def used(idx: list[int]) -> int:
        return sum((cols[i].min_width if cols[i].flex else natural[i]) + PAD for i in idx)

    while used(keep) > budget:
        optional = [i for i in keep if cols[i].priority > 0]
        if not optional:
            break
        keep.remove(max(optional, key=lambda i: (cols[i].priority, i)))
    fixed = sum(natural[i] + PAD for i in keep if not cols[i].flex)
    out = []
    for i in keep:
        if cols[i].flex:
            out.append(max(1, budget - fixed - PAD))  # never wider than what is left
        else:
            out.append(natural[i])
    return [cols[i] for i in keep], out


def fit_rows(
    cols: Sequence[Col], cells: Sequence[Sequence[Text]], total: int
) -> tuple[list[Col], list[int], list[list[Text]]]:
    """`widths` plus the cells of the kept columns, each clipped at a word boundary to its width."""
    kept, ws = widths(cols, cells, total)
    index = [cols.index(c) for c in kept]
    rows = [[clip_words(row[i], w) for i, w in zip(index, ws, strict=True)] for row in cells]
    return kept, ws, rows


def hidden_rows(total: int, top: int, visible: int) -> tuple[int, int]:
    """Rows above and below a window of `visible` rows starting at row `top`, out of `total`.

    What a table says in its border instead of a scrollbar: a scrollbar's thumb in a one-cell
    gutter reads as a stray `▁`/`▇` on most themes, while `+9 more ↓` says how much is hidden.
    """
    visible = max(0, visible)
    top = max(0, min(top, max(0, total - visible)))
    return top, max(0, total - top - visible)


def more_text(above: int, below: int) -> str:
    """`+9 more ↓`, `↑ 3 above · +2 more ↓`, or "" when everything shows."""
    parts = [f"↑ {above} above"] if above else []
    if below:
        parts.append(f"+{below} more ↓")
    return " · ".join(parts)
