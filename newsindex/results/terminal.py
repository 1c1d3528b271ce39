"""Stored text made safe to print on a terminal.

Titles and bodies come from whoever wrote the files that were indexed. Printed raw, an ESC or
OSC sequence in a title can retitle the window, clear the screen, or forge output; a bidi
override can make text read differently from what it is. Each such character is replaced by
one visible character, so lengths and offsets (snippet marks, the caret under a query error,
column widths) stay as they were.
"""

from __future__ import annotations

import re

__all__ = ["terminal_safe"]

# Bidi embeddings, overrides and isolates ("Trojan Source"): they reorder what is displayed.
_BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"

_TABLE: dict[int, int] = {c: 0x2400 + c for c in range(0x20)}  # C0 as control pictures: ␛
_TABLE[0x7F] = 0x2421  # ␡
_TABLE.update({c: 0xFFFD for c in range(0x80, 0xA0)})  # C1: CSI, OSC, ... as one single byte
_TABLE.update({ord(c): 0xFFFD for c in _BIDI})
_TABLE[ord("\t")] = ord("\t")
_TABLE[ord("\n")] = ord("\n")
_TABLE[ord("\r")] = ord(" ")  # a lone CR would overwrite the start of the line
_ONE_LINE = {**_TABLE, ord("\t"): ord(" "), ord("\n"): ord(" ")}

_UNSAFE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}]")
_UNSAFE_ONE_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}]")


def terminal_safe(text: str, *, one_line: bool = False) -> str:
    """``text`` with every terminal control character replaced by a visible one, same length.

    C0 controls (except tab and newline) become their Unicode control pictures (ESC is
    ``␛``), DEL ``␡``, C1 controls and bidi overrides/isolates ``�``, a carriage return a
    space. With ``one_line``, tabs and newlines become spaces too (a title on one line of a
    listing cannot start a forged line).

    Example:
        >>> terminal_safe("Oil \\x1b]0;pwned\\x07 prices")
        'Oil ␛]0;pwned␇ prices'
    """
    pattern = _UNSAFE_ONE_LINE if one_line else _UNSAFE
    if pattern.search(text) is None:  # the usual case: nothing to copy
        return text
    return text.translate(_ONE_LINE if one_line else _TABLE)
