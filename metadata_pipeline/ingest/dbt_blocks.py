"""dbt's top-level blocks (`{% macro %}`, `{% snapshot %}`, `{% docs %}`...) found in a file's text."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Block:
    """A top-level `{% kind name ... %}...{% endkind %}` block of a dbt file."""

    kind: str
    name: str
    body: str
    source: str  # the whole block, tags included
    line: int  # where the opening tag starts (1-based)
    body_line: int

    @property
    def names(self) -> list[str]:
        return [self.name]

    @property
    def padded_source(self) -> str:
        """The block preceded by blank lines, so Jinja's line numbers are the file's."""
        return "\n" * (self.line - 1) + self.source

    @property
    def padded_body(self) -> str:
        return "\n" * (self.body_line - 1) + self.body


_COMMENT_RE = re.compile(r"{#.*?#}", re.DOTALL)
_RAW_RE = re.compile(r"{%-?\s*raw\s*-?%}.*?{%-?\s*endraw\s*-?%}", re.DOTALL)
_BLOCK_START_RE = re.compile(
    r"{%-?\s*(macro|snapshot|test|materialization|docs)\s+([A-Za-z_][\w]*)(.*?)-?%}", re.DOTALL
)


def _blank(match: re.Match[str]) -> str:
    """Same length and newlines, no content: offsets and line numbers survive."""
    return re.sub(r"[^\n]", " ", match.group(0))


def find_blocks(source: str, kinds: tuple[str, ...]) -> list[Block]:
    """Top-level blocks of the given kinds, like dbt's block extractor (comments and raw skipped)."""
    masked = _RAW_RE.sub(_blank, _COMMENT_RE.sub(_blank, source))
    blocks: list[Block] = []
    position = 0
    while True:
        start = _BLOCK_START_RE.search(masked, position)
        if start is None:
            return blocks
        kind, name = start.group(1), start.group(2)
        end = re.compile(r"{%-?\s*end" + kind + r"\s*-?%}").search(masked, start.end())
        if end is None:
            return blocks
        if kind in kinds:
            blocks.append(
                Block(
                    kind=kind,
                    name=name,
                    body=source[start.end() : end.start()],
                    source=source[start.start() : end.end()],
                    line=source.count("\n", 0, start.start()) + 1,
                    body_line=source.count("\n", 0, start.end()) + 1,
                )
            )
        position = end.end()


def macro_blocks(source: str) -> list[Block]:
    return find_blocks(source, ("macro",))
