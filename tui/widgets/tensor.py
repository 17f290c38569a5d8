"""TensorPane: one sample's tensor as numbers, a half-block heatmap, or bars, with a cursor."""

from __future__ import annotations

import math

import numpy as np
from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widget import Widget

from tui import render
from tui.widgets.cached import CachedRender

MODES = ("auto", "numbers", "heatmap")
EMPTY = "nothing computed yet — press f to step forward"


def _split_title(title: str, width: int) -> list[str]:
    """The title in pieces of at most `width`, broken at its " · " separators where needed."""
    pieces, current = [], ""
    for piece in title.split(" · "):
        joined = f"{current} · {piece}" if current else piece
        if current and len(joined) > width:
            pieces.append(current)
            joined = piece
        current = joined
    return [*pieces, current]


class TensorPane(CachedRender, Widget, can_focus=True):
    """Shows a (C, H, W), (H, W) or (F,) array; owns channel, display mode and element cursor."""

    BINDINGS = [
        Binding("left_square_bracket", "prev_channel", "Channel -"),
        Binding("right_square_bracket", "next_channel", "Channel +"),
        Binding("m", "cycle_mode", "Mode"),
        Binding("up", "move(-1, 0)", "Up", show=False),
        Binding("down", "move(1, 0)", "Down", show=False),
        Binding("left", "move(0, -1)", "Left", show=False),
        Binding("right", "move(0, 1)", "Right", show=False),
    ]

    class CursorMoved(Message):
        """The element cursor moved (or its channel changed): explain element (channel, i, j)."""

        def __init__(self, pane: TensorPane, channel: int, i: int, j: int) -> None:
            super().__init__()
            self.pane, self.channel, self.i, self.j = pane, channel, i, j

        @property
        def control(self) -> TensorPane:
            """The pane that moved its cursor."""
            return self.pane

        @property
        def index(self) -> tuple[int, ...]:
            """Index into the sample array: (c, i, j), (i, j) or (i,) matching its ndim."""
            ndim = self.pane.array.ndim if self.pane.array is not None else 3
            return ((self.channel, self.i, self.j), (self.i, self.j), (self.i,))[3 - ndim]

    class ChannelChanged(Message):
        """The user picked another channel with [ or ]."""

        def __init__(self, pane: TensorPane, channel: int) -> None:
            super().__init__()
            self.pane, self.channel = pane, channel

        @property
        def control(self) -> TensorPane:
            """The pane whose channel changed."""
            return self.pane

    def __init__(self, *, color: bool | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.array: np.ndarray | None = None  # the sample as given: (C,H,W), (H,W) or (F,)
        self._maps: np.ndarray | None = None  # (C, H, W) view; a vector is (1, F, 1)
        self.title = ""
        self.channel = 0
        self.mode = "auto"
        self.cursor: tuple[int, int] | None = None  # (i, j) within the current channel
        self.highlight: frozenset = frozenset()
        self.signed: bool | None = None
        self.message = EMPTY
        self.color_override = color  # None: follow NO_COLOR / the app's no-colour mode

    # -- state ------------------------------------------------------------------------------
    @property
    def channels(self) -> int:
        """Number of channels of the shown array (0 when empty)."""
        return 0 if self._maps is None else self._maps.shape[0]

    @property
    def is_vector(self) -> bool:
        """True when the shown array is a (F,) vector."""
        return self.array is not None and self.array.ndim == 1

    def show(self, array, *, title="", cursor=None, highlight=frozenset(), signed=None) -> None:
        """Display one sample; cursor (i, j), (c, i, j) or (i,); highlight: index tuples.

        highlight takes engine receptive fields as they are: (n, c, i, j), (c, i, j) or (i, j)
        for maps (only the shown channel's are marked), (n, k) or (k,) for vectors.
        """
        a = np.asarray(array)
        if a.ndim not in (1, 2, 3) or a.size == 0:
            self.clear(f"cannot show an array of shape {a.shape}")
            return
        self.array = a
        self._maps = {1: lambda: a.reshape(1, -1, 1), 2: lambda: a[None], 3: lambda: a}[a.ndim]()
        self.title, self.signed = title, signed
        self.highlight = frozenset(tuple(int(x) for x in idx) for idx in highlight)
        self.channel = min(self.channel, self.channels - 1)
        self.cursor = None
        if cursor is not None:
            cur = (int(cursor),) if np.isscalar(cursor) else tuple(int(x) for x in cursor)
            if a.ndim == 3 and len(cur) == 3:
                self.channel = min(max(cur[0], 0), self.channels - 1)
            self.cursor = self._clamp(cur[-1], 0) if a.ndim == 1 else self._clamp(*cur[-2:])
        self._changed()

    def clear(self, message: str = EMPTY) -> None:
        """Show the empty state with a hint instead of a tensor."""
        self.array = self._maps = None
        self.cursor, self.highlight, self.message = None, frozenset(), message
        self._changed()

    def _clamp(self, i: int, j: int) -> tuple[int, int]:
        _, h, w = self._maps.shape
        return min(max(i, 0), h - 1), min(max(j, 0), w - 1)

    def exportable(self):
        """The tensor shown, as a tui.export.TensorExport (None when nothing is shown)."""
        from tui.export import TensorExport

        if self.array is None:
            return None
        name = self.title.split(" · receptive field")[0].replace("/", " of ") or "tensor"
        return TensorExport(name, np.array(self.array), self.channel, self.signed)

    # -- actions ----------------------------------------------------------------------------
    def set_channel(self, channel: int) -> None:
        """Select a channel (wraps around) and re-explain the element under the cursor."""
        if not self.channels:
            return
        self.channel = channel % self.channels
        self._changed()
        self.post_message(self.ChannelChanged(self, self.channel))
        if self.cursor is not None:
            self.post_message(self.CursorMoved(self, self.channel, *self.cursor))

    def action_next_channel(self) -> None:
        """Next channel."""
        self.set_channel(self.channel + 1)

    def action_prev_channel(self) -> None:
        """Previous channel."""
        self.set_channel(self.channel - 1)

    def set_mode(self, mode: str) -> None:
        """Display mode: "auto" (numbers when they fit), "numbers" or "heatmap"."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.mode = mode
        self._changed()

    def action_cycle_mode(self) -> None:
        """auto -> numbers -> heatmap -> auto."""
        self.set_mode(MODES[(MODES.index(self.mode) + 1) % len(MODES)])

    def action_move(self, di: int, dj: int) -> None:
        """Move the element cursor (a vector moves along its length either way)."""
        if self._maps is None:
            return
        if self.cursor is None:
            self.cursor = (0, 0)
        elif self.is_vector:
            self.cursor = self._clamp(self.cursor[0] + di + dj, 0)
        else:
            self.cursor = self._clamp(self.cursor[0] + di, self.cursor[1] + dj)
        self._changed()
        self.post_message(self.CursorMoved(self, self.channel, *self.cursor))

    # -- rendering (CachedRender.render calls _build after a change) -------------------------
    def _marks(self) -> frozenset:
        """Highlighted (i, j) in the current channel; indices may carry n and c in front."""
        if self.is_vector:  # engine fields for vectors are (n, k): the last entry is k
            return frozenset((idx[-1], 0) for idx in self.highlight)
        if self.array.ndim == 2:
            return frozenset(idx[-2:] for idx in self.highlight)
        return frozenset(
            idx[-2:] for idx in self.highlight if len(idx) < 3 or idx[-3] == self.channel
        )

    def _header(self, shown: str, width: int) -> Text:
        """Title, channel, shape and mode, the cursor's value: packed into lines of `width`.

        Packed here rather than left to wrap: a wrapped header would be one line taller than
        counted and push the legend (min/max) out of the pane.
        """
        parts = [(piece, "bold") for piece in _split_title(self.title or "tensor", width)]
        if self.array.ndim == 3:
            parts.append((f"channel {self.channel + 1}/{self.channels}", ""))
        parts.append((f"{'×'.join(map(str, self.array.shape))}  {shown}", "dim"))
        if self.cursor is not None:
            i, j = self.cursor
            value = render.format_number(self._maps[self.channel, i, j])
            where = f"[{i}]" if self.is_vector else f"[{i},{j}]"
            parts.append((f"{where} = {value}", "dim"))
        header = Text(no_wrap=True, overflow="crop")
        used = 0
        for text, style in parts:
            if len(text) > width:  # only a very long title: cut it, keep the rest readable
                text = text[: max(width - 1, 1)] + "…"
            if used and used + 2 + len(text) <= width:
                header.append("  ")
                used += 2
            elif used:
                header.append("\n")
                used = 0
            header.append(text, style=style)
            used += len(text)
        return header

    def _build(self, width: int, height: int) -> Text:
        """The header, the tensor body and a legend."""
        width, height = max(width, 8), max(height, 3)
        if self._maps is None:
            return Text(self.message, style="dim italic")
        color = self.color
        plane = self._maps[self.channel].astype(np.float64)  # (H, W)
        signed = render.auto_signed(self._maps) if self.signed is None else self.signed
        header_lines = 1 + self._header("auto: numbers", width).plain.count("\n")
        body_h = height - header_lines - 1  # the legend takes the last line
        window = ""  # numbers mode on a map too big for the pane: which part is shown
        if self.is_vector:
            body, shown, window = self._vector_body(plane[:, 0], width, body_h, signed, color)
        else:
            fits = render.fit_digits(plane, width) is not None and plane.shape[0] <= body_h
            if self.mode == "numbers" or (self.mode == "auto" and fits):
                rows, cols = (0, plane.shape[0]), (0, plane.shape[1])
                if not fits:  # a window around the cursor: wrapped rows would garble the grid
                    rows, cols = self._window(plane, width, max(body_h, 1))
                cur, marks = self.cursor, self._marks()
                if cur is not None:
                    cur = (cur[0] - rows[0], cur[1] - cols[0])
                marks = {(i - rows[0], j - cols[0]) for i, j in marks}
                body = render.number_grid(
                    plane[rows[0] : rows[1], cols[0] : cols[1]], cursor=cur, highlight=marks,
                    width=width, color=color,
                )  # fmt: skip
                shown = "numbers"
                if not fits:
                    window = f"rows {rows[0]}-{rows[1] - 1}, cols {cols[0]}-{cols[1] - 1}"
            else:
                body = render.heatmap(
                    plane, max_width=width, max_height=body_h, signed=signed,
                    cursor=self.cursor, highlight=self._marks(), color=color,
                )  # fmt: skip
                shown = "heatmap"
        lo, hi = float(np.nanmin(plane)), float(np.nanmax(plane))
        if shown == "heatmap":
            foot = render.legend(lo, hi, signed=signed, color=color, width=min(width, 48))
        else:
            foot = Text(f"min {render.format_number(lo)}  max {render.format_number(hi)}")
            if window:
                foot.append(f"  {window}")
            foot.stylize("dim")
        if self.mode == "auto":
            shown = f"auto: {shown}"
        # no wrapping: a wrapped line would push the legend out of the pane
        lines = Text("\n", no_wrap=True, overflow="crop")
        return lines.join([self._header(shown, width), body, foot])

    def _window(self, plane, width: int, rows: int) -> tuple[tuple[int, int], tuple[int, int]]:
        """(row range, column range) of the number grid that fits, centred on the cursor."""
        h, w = plane.shape
        cell = max(len(v) for v in render.numbers.format_array(plane, 1).ravel())
        cols = max(1, (width + render.numbers.GAP) // (cell + render.numbers.GAP))
        ci, cj = self.cursor if self.cursor is not None else (0, 0)

        def span(centre: int, size: int, n: int) -> tuple[int, int]:
            start = min(max(centre - size // 2, 0), max(n - size, 0))
            return start, min(n, start + size)

        return span(ci, rows, h), span(cj, cols, w)

    def _vector_body(self, v, width, body_h, signed, color) -> tuple[Text, str, str]:
        """Bars (windowed around the cursor when long) or a wrapped heatmap for long vectors.

        Returns the body, what it shows, and which bars are shown when not all of them fit.
        """
        k = self.cursor[0] if self.cursor is not None else None
        n = v.size
        bars = self.mode == "numbers" or (self.mode == "auto" and n <= max(body_h, 64))
        if bars:
            rows = max(body_h, 1)
            start = 0 if k is None else min(max(k - rows // 2, 0), max(n - rows, 0))
            end = min(n, start + rows)
            body = render.bar_list(
                v[start:end], width=width, signed=signed, color=color,
                cursor=None if k is None else k - start,
                highlight={i - start for i, _ in self._marks() if start <= i < end},
                labels=[str(x) for x in range(start, end)],
            )  # fmt: skip
            hidden = n - (end - start)
            window = f"{start}-{end - 1} of {n}, {hidden} more (↑ ↓)" if hidden else ""
            return body, "bars", window
        cols = min(max(1, math.ceil(math.sqrt(n))), width if color else width // 2)
        grid = np.full(math.ceil(n / cols) * cols, np.nan)
        grid[:n] = v
        grid = grid.reshape(-1, cols)
        cur = None if k is None else divmod(k, cols)
        marks = {divmod(i, cols) for i, _ in self._marks()}
        body = render.heatmap(
            grid, max_width=width, max_height=body_h, signed=signed, cursor=cur,
            highlight=marks, color=color,
        )  # fmt: skip
        return body, "heatmap", ""
