"""MarkdownPage: a page of Markdown whose update remounts only the blocks whose text changed."""

from __future__ import annotations

from textual.await_complete import AwaitComplete
from textual.containers import Vertical
from textual.widgets import Markdown


def blocks(text: str) -> list[str]:
    """The page's top-level blocks (heading, paragraph, list, table, code ...) as source text."""
    from markdown_it import MarkdownIt

    lines = text.splitlines()
    spans = [tok.map for tok in MarkdownIt("gfm-like").parse(text) if tok.level == 0 and tok.map]
    return ["\n".join(lines[a:b]).strip() for a, b in spans] or [text]


class MarkdownPage(Vertical):
    """A lesson page's text as one Markdown widget per top-level block.

    Textual's Markdown.update remounts every block of the document (a new widget each, styled
    afresh): a page whose numbers follow the view paid that on every pause in the keys. Here an
    update re-renders only the blocks whose text changed, usually the one with the number.
    """

    DEFAULT_CSS = "MarkdownPage { height: auto; }"
    _blocks: list[str] = []

    def update(self, text: str) -> AwaitComplete:
        """Show `text`; the returned awaitable completes once the changed blocks are mounted.

        A new page is one Markdown widget (one parse: as quick to open as Textual's own); the
        first change to its numbers splits it into one widget per block, and from then on only
        changed blocks re-render.
        """
        new = blocks(text)
        old, self._blocks = self._blocks, new
        parts = list(self.query_children(Markdown))
        if new == old and parts:
            return AwaitComplete(self._nothing())
        if len(new) != len(old):
            return AwaitComplete(self._rebuild([text]))  # another page
        if len(parts) != len(new):
            return AwaitComplete(self._rebuild(new))  # the same page's numbers: split it now
        pending = [part.update(b) for part, a, b in zip(parts, old, new, strict=True) if a != b]

        async def wait() -> None:
            for done in pending:
                await done

        return AwaitComplete(wait())

    async def _nothing(self) -> None:
        return None

    async def _rebuild(self, sources: list[str]) -> None:
        with self.app.batch_update():
            await self.remove_children()
            await self.mount_all([Markdown(source) for source in sources])
