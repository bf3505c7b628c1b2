"""rich: the emoji table, without importing the rest of rich.

Why: the CLI prints most lines straight to standard output and hands rich only a line rich would
change. A ``:name:`` that is a known emoji code is one such change. Importing
``rich._emoji_codes`` reads the table alone (a few ms); the public ``rich.emoji.Emoji.replace``
imports rich's console machinery first. Measured by ``bench/run history --no-upgrade``
(the read-only commands ``current``, ``heads``, ``history`` at CLI start-up).
"""

from __future__ import annotations

from collections.abc import Iterable

from . import trick


@trick("rich.emoji_codes", "the emoji table without rich's console")
def EMOJI_TABLE() -> bool:
    from rich._emoji_codes import EMOJI

    return isinstance(EMOJI, dict) and "smile" in EMOJI


def known_emoji(names: Iterable[str]) -> bool:
    """Whether any of ``names`` (the text between colons, lower case) is an emoji code rich
    replaces when it prints."""
    names = list(names)
    if EMOJI_TABLE.usable:
        from rich._emoji_codes import EMOJI

        return any(name in EMOJI for name in names)
    from rich.emoji import Emoji

    return any(Emoji.replace(f":{name}:") != f":{name}:" for name in names)
