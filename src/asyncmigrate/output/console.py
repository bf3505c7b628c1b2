"""Print lines exactly as the command line's rich Console would, importing rich only when needed.

rich costs ~50 ms to import and more to render hundreds of lines, a good part of what ``heads``
or ``status`` may take. These commands print plain text (values escaped) with a few colour tags.
Off a terminal rich drops the tags and writes the text unchanged, unless the text holds something
rich interprets: markup brackets, ``:emoji:`` codes, tabs or control characters. Lines without
those are written directly, byte for byte what rich would write; everything else, and styled
output on a terminal, still goes through rich.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Sequence
from typing import Any

#: rich's emoji-code pattern; rich replaces a match whose name is one of its emoji names.
_EMOJI_CODE = re.compile(r"(:(\S*?)(?:(?:\-)(emoji|text))?:)")
RAW, ESCAPED, STYLE = "raw", "escaped", "style"


class Line:
    """One ``console.print`` call as parts: markup written as is (``RAW``), a value passed
    through ``escape`` (``ESCAPED``), or a style tag such as ``[green]`` (``STYLE``)."""

    __slots__ = ("parts",)

    def __init__(self, *parts: tuple[str, str]) -> None:
        self.parts = parts

    @classmethod
    def text(cls, text: str) -> Line:
        """``console.print(text)``."""
        return cls((text, RAW))

    @classmethod
    def escaped(cls, text: str) -> Line:
        """``console.print(escape(text))``."""
        return cls((text, ESCAPED))

    @property
    def plain(self) -> str:
        """What rich prints off a terminal, when the text holds nothing rich interprets."""
        return "".join(text for text, kind in self.parts if kind != STYLE)

    @property
    def styled(self) -> bool:
        return any(kind == STYLE for _, kind in self.parts)

    def markup(self) -> str:
        from rich.markup import escape

        return "".join(escape(text) if kind == ESCAPED else text for text, kind in self.parts)


def _has_emoji_code(text: str) -> bool:
    """A ``:name:`` rich would replace. Times (``10:00:``) match the pattern but are no emoji:
    only a match makes us look the name up, with rich's public ``Emoji.replace``."""
    matches = list(_EMOJI_CODE.finditer(text))
    if not matches:
        return False
    from rich.emoji import Emoji

    return any(Emoji.replace(f":{name}:") != f":{name}:" for name in (m.group(2).lower() for m in matches))


def _unchanged_by_rich(text: str, encoding: str) -> bool:
    if "[" in text or "\\" in text or _has_emoji_code(text):
        return False
    if not text.isascii() and encoding.replace("-", "").lower() != "utf8":
        return False
    return all(part.isprintable() for part in text.split("\n"))


def _rich_sees_a_terminal() -> bool:
    """rich's ``Console.is_terminal`` for standard output: styles become escape codes."""
    compatible = os.environ.get("TTY_COMPATIBLE", "")
    if compatible in ("0", "1"):
        return compatible == "1"
    force = os.environ.get("FORCE_COLOR")
    if force is not None:
        return force != ""
    try:
        return sys.stdout.isatty()
    except ValueError:
        return False


def emit(lines: Sequence[Line], console: Any) -> None:
    """Print ``lines``: directly when rich would print them unchanged, else through ``console``."""
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    texts = [line.plain for line in lines]
    direct = all(_unchanged_by_rich(text, encoding) for text in texts)
    if direct and any(line.styled for line in lines):
        direct = not _rich_sees_a_terminal()
    if direct:
        sys.stdout.write("".join(f"{text}\n" for text in texts))
        return
    for line in lines:
        console.print(line.markup())
