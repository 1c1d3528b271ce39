"""Tokenizing many texts at once with whole-array numpy operations: the indexing hot path.

Splitting a text into Python strings and looking each one up, token by token, was a large
part of an index build. Here a group of texts is tokenized as one UTF-8 byte array:
a ``bytes.translate`` lowercases ASCII and blanks separators, token boundaries come from one
comparison, and every token of up to 16 bytes becomes a 64-bit hash of its bytes and length,
read through unaligned 8-byte views. Equal hashes are grouped by one sort. A writer keeps
the groups it has seen in a :class:`KnownTokens` table (hash -> term id), so only tokens new
to the writer ever become Python strings. Tokens longer than 16 bytes, which the hash does
not cover, are few and are read as strings.

Text with non-ASCII characters is lowercased by ``str.lower`` first, as :func:`raw_tokens`
does, and its non-ASCII separators (a "£", curly double quotes, a dash) are blanked by one
regex substitution, so every non-ASCII byte left belongs to a word character (an accented
letter, a curly apostrophe) and simply stays in its token. Version 2 of the tokenizer keeps
its joining bytes (the "." of "U.S.", the "-" of "F-16") in the array and merges the pieces
around each one the rules allow, with a few comparisons per token gap (:func:`_join`).

Nothing here is approximate. Every token is checked against its group's first token, and
every group against the known token it matched (same bytes, same length); a group of texts
that fails the first check is tokenized by :func:`raw_tokens` instead, a group that fails
the second is looked up by its text. A test holds the two tokenizers equal.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from .tokenizer import TOKENIZER, prepare, raw_tokens

#: Characters of text tokenized as one array: large enough to amortize numpy's call overhead,
#: small enough that the temporaries stay in cache and are reused.
CHUNK_CHARS = 1 << 20

# ASCII letters, digits and the apostrophe map to themselves (lowercased), other ASCII bytes
# to 0, the separator. Bytes of non-ASCII characters are kept: by the time a text is encoded,
# every non-ASCII character left in it is a word character (see tokenize_chunk).
_TABLE = bytes(
    c if c >= 128 else ord(chr(c).lower()) if chr(c).isalnum() or chr(c) == "'" else 0
    for c in range(256)
)
# Version 2 keeps the joining characters ("U.S.", "F-16", "AT&T") in the bytes, as the codes 1,
# 2 and 3 (control characters, separators otherwise): a word byte is then one above 3, and a
# token's text is its bytes with the codes turned back (_UNCODE).
_JOIN_BYTES = b"&-."
_AMP, _DASH, _DOT = 1, 2, 3
_TABLE_2 = bytes(_JOIN_BYTES.index(c) + 1 if c in _JOIN_BYTES else t for c, t in enumerate(_TABLE))
_UNCODE = bytes.maketrans(bytes([_AMP, _DASH, _DOT]), _JOIN_BYTES)
_K0 = np.uint64(0x9E3779B97F4A7C15)
_K1 = np.uint64(0xC2B2AE3D27D4EB4F)
_K2 = np.uint64(0x165667B19E3779F9)
_PAD = "\0" * 8  # room for the 8-byte reads around the first and last tokens
#: Longest token the hash covers; longer ones are read as strings.
_KEY_BYTES = 16
# A non-ASCII character that is neither a word character nor an apostrophe: a separator,
# whatever it is, so blanking it changes no token.
_NON_ASCII_SEPARATOR = re.compile(r"[^\x00-\x7f\w\u2019]")


#: A group the table does not know.
MISSING = -2


class TokenizedChunk:
    """A group of texts, tokenized: each token as the number of its group of equal tokens.

    The first ``len(keys[0])`` groups are identified by their key (hash, last 8 bytes, first 8
    bytes, length) and their text is read only when asked for; the others (long tokens,
    texts tokenized the careful way) are plain strings. Two groups may hold equal tokens.
    """

    def __init__(self, counts, inverse, data=b"", starts=None, ends=None, keys=None):
        #: Token count of each text.
        self.counts = counts
        #: For every token in text order, its group.
        self.inverse = inverse
        self._data = data  # the chunk's UTF-8 bytes; tokens are byte ranges
        self._starts = starts if starts is not None else np.zeros(0, dtype=np.int64)
        self._ends = ends if ends is not None else np.zeros(0, dtype=np.int64)
        #: Per keyed group: hash, tail, head and length arrays.
        self.keys = keys if keys is not None else _no_keys()
        self._extra: list[str] = []

    def __len__(self) -> int:
        """The number of groups."""
        return len(self.keys[0]) + len(self._extra)

    def string_group(self, token: str, groups: dict[str, int]) -> int:
        """The plain-string group of ``token`` in ``groups`` (token -> group), added if new."""
        k = groups.get(token)
        if k is None:
            k = groups[token] = len(self)
            self._extra.append(token)
        return k

    def strings(self, groups: np.ndarray | None = None) -> list[str]:
        """The token of each of ``groups`` (default: all)."""
        keyed = len(self.keys[0])
        if groups is None:
            groups = np.arange(len(self))
        inside = groups[groups < keyed]
        out = _slices(self._data, self._starts[inside], self._ends[inside])
        return out + [self._extra[g - keyed] for g in groups[groups >= keyed].tolist()]


def _slices(data: bytes, starts: np.ndarray, ends: np.ndarray) -> list[str]:
    """The strings at byte ranges of UTF-8 ``data`` (one decode when it is all ASCII)."""
    bounds = zip(starts.tolist(), ends.tolist())
    data = data.translate(_UNCODE)  # version 2's joining bytes (no other token byte is < 4)
    if data.isascii():
        text = data.decode("ascii")
        return [text[s:e] for s, e in bounds]
    return [data[s:e].decode("utf-8") for s, e in bounds]


def _no_keys():
    return (
        np.zeros(0, dtype=np.uint64),
        np.zeros(0, dtype=np.uint64),
        np.zeros(0, dtype=np.uint64),
        np.zeros(0, dtype=np.int64),
    )


class KnownTokens:
    """The keyed tokens a writer has mapped to term ids: a chunk's groups are looked up with a
    ``searchsorted`` per sorted run and an exact comparison of their keys.

    New tokens go to a small run that is merged into the main one when it reaches an eighth
    of it, so learning stays linear in the vocabulary however many chunks a build has.
    """

    def __init__(self) -> None:
        self._runs = [(_no_keys(), np.zeros(0, dtype=np.int32))]  # main run, then the new one

    def __len__(self) -> int:
        return sum(len(ids) for _, ids in self._runs)

    def lookup(self, chunk: TokenizedChunk) -> np.ndarray:
        """The id of each group of ``chunk`` (int32), or :data:`MISSING`."""
        ids = np.full(len(chunk), MISSING, dtype=np.int32)
        keyed = ids[: len(chunk.keys[0])]  # a view: the groups with keys
        for keys, run_ids in self._runs:
            if not len(run_ids) or not len(keyed):
                continue
            at = np.minimum(np.searchsorted(keys[0], chunk.keys[0]), len(run_ids) - 1)
            same = np.ones(len(keyed), dtype=bool)
            for mine, theirs in zip(keys, chunk.keys):
                same &= mine[at] == theirs
            keyed[same] = run_ids[at[same]]
        return ids

    def learn(self, chunk: TokenizedChunk, groups: np.ndarray, ids: np.ndarray) -> None:
        """Remember ``ids`` for ``groups`` of ``chunk`` (the keyed ones the hash covers; a hash
        already taken by another token is left out: that token is then read as text)."""
        keep = groups < len(chunk.keys[0])
        groups, ids = groups[keep], ids[keep]
        keep = chunk.keys[3][groups] <= _KEY_BYTES
        hashes, first = np.unique(chunk.keys[0][groups[keep]], return_index=True)
        groups, ids = groups[keep][first], ids[keep][first]
        for keys, _ in self._runs:
            new = ~np.isin(hashes, keys[0], assume_unique=True)
            hashes, groups, ids = hashes[new], groups[new], ids[new]
        if not len(hashes):
            return
        (main, main_ids), (recent, recent_ids) = self._runs[0], self._runs[-1]
        if len(self._runs) == 1:
            recent, recent_ids = _no_keys(), np.zeros(0, dtype=np.int32)
        at = np.searchsorted(recent[0], hashes)
        recent = tuple(
            np.insert(mine, at, theirs[groups]) for mine, theirs in zip(recent, chunk.keys)
        )
        recent_ids = np.insert(recent_ids, at, ids)
        if len(recent_ids) * 8 < len(main_ids):
            self._runs = [(main, main_ids), (recent, recent_ids)]
            return
        merged = [np.concatenate((a, b)) for a, b in zip(main, recent)]
        order = np.argsort(merged[0], kind="stable")
        self._runs = [
            (tuple(k[order] for k in merged), np.concatenate((main_ids, recent_ids))[order])
        ]


def chunks(texts: Sequence[str], chunk_chars: int | None = None) -> list[tuple[int, int]]:
    """``(start, end)`` ranges of ``texts`` holding about ``chunk_chars`` characters each
    (default :data:`CHUNK_CHARS`)."""
    chunk_chars = chunk_chars or CHUNK_CHARS
    bounds = []
    start = size = 0
    for i, text in enumerate(texts):
        size += len(text) + 1
        if size >= chunk_chars:
            bounds.append((start, i + 1))
            start, size = i + 1, 0
    if start < len(texts) or not bounds:
        bounds.append((start, len(texts)))
    return bounds


def tokenize_chunk(texts: Sequence[str], tokenizer: int = TOKENIZER) -> TokenizedChunk:
    """The tokens of ``texts``, exactly as :func:`raw_tokens` gives them (``tokenizer``: its
    version)."""
    # raw_tokens lowercases, then a token is a run of word characters and apostrophes (joined
    # by version 2's rules). ASCII is lowercased by the byte table; a text with other
    # characters is lowercased here and its non-ASCII separators blanked, so every non-ASCII
    # byte left belongs to a token.
    if tokenizer == 1:
        plain = [
            text if text.isascii() else _NON_ASCII_SEPARATOR.sub(" ", text.lower())
            for text in texts
        ]
    else:
        plain = [text if text.isascii() else prepare(text, 2) for text in texts]
    chunk = _tokenize(plain, tokenizer)
    if chunk is None:  # two different tokens share a hash: take the careful path
        return _tokenize_slowly(texts, tokenizer)
    return chunk


def _tokenize(texts: list[str], tokenizer: int) -> TokenizedChunk | None:
    joined = (_PAD + "\0".join(texts) + _PAD).encode("utf-8")
    if tokenizer == 1:
        data = joined.translate(_TABLE)
        is_token = np.frombuffer(data, dtype=np.uint8).astype(bool)
    else:
        data = joined.translate(_TABLE_2)
        is_token = np.frombuffer(data, dtype=np.uint8) > _DOT
    # Token edges alternate: a start, then its end.
    edges = np.flatnonzero(is_token[1:] != is_token[:-1]) + 1
    starts, ends = edges[0::2], edges[1::2]
    if tokenizer != 1 and len(starts) > 1:
        starts, ends = _join(np.frombuffer(data, dtype=np.uint8), starts, ends)
    # Each text starts one byte after the previous one's end (the "\0" between them).
    sizes = [len(t) if t.isascii() else len(t.encode("utf-8")) for t in texts]
    text_starts = np.cumsum([len(_PAD)] + [size + 1 for size in sizes])
    counts = np.diff(np.searchsorted(starts, text_starts))
    ntok = len(starts)
    if not ntok:
        return TokenizedChunk(counts, np.zeros(0, dtype=np.int32))

    # A token of up to 16 bytes is exactly (its last 8 bytes, its first 8 when it has more
    # than 8, its length). The 8-byte reads are unaligned views into the text; shifting drops
    # the bytes before a short token, which belong to its neighbours.
    lengths = ends - starts
    words = np.ndarray((len(data) - 7,), dtype="<u8", buffer=data, strides=(1,))
    tail = words[ends - 8] >> (np.maximum(8 - lengths, 0) << 3).astype(np.uint64)
    head = words[starts] * (lengths > 8)
    hashes = (tail * _K0) ^ (head * _K1) ^ (lengths.astype(np.uint64) * _K2)

    # One sort groups equal hashes and orders each group by position: the low bits hold the
    # token's number, the rest the top of its hash (44 bits for a 1 MiB chunk: a collision is
    # rare, and the check below turns it into a fallback, never a wrong token).
    bits = np.uint64(int(ntok).bit_length())
    keyed = (hashes >> bits << bits) | np.arange(ntok, dtype=np.uint64)
    keyed.sort()
    order = (keyed & ((np.uint64(1) << bits) - np.uint64(1))).astype(np.int64)
    first = np.empty(ntok, dtype=bool)
    first[0] = True
    keyed >>= bits
    np.not_equal(keyed[1:], keyed[:-1], out=first[1:])
    rep = order[first]  # each group's first token
    inverse = np.empty(ntok, dtype=np.int32)
    inverse[order] = np.cumsum(first, dtype=np.int32) - 1

    # Exactness: every token equals its group's first on all it was hashed from.
    keys = (hashes[rep], tail[rep], head[rep], lengths[rep])
    for part, whole in zip(keys[1:], (tail, head, lengths)):
        if not np.array_equal(part[inverse], whole):
            return None
    chunk = TokenizedChunk(counts, inverse, data, starts[rep], ends[rep], keys)
    long = np.flatnonzero(lengths > _KEY_BYTES)
    if len(long):
        # The hash stops at 16 bytes, so long tokens are told apart by their text.
        seen: dict[str, int] = {}
        for j, token in zip(long.tolist(), _slices(data, starts[long], ends[long])):
            inverse[j] = chunk.string_group(token, seen)
    return chunk


def _join(data: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Version 2's joins: pieces one joining byte apart merged where the rules say ("u.s",
    "f-16", "at&t"); see :mod:`.tokenizer`."""
    # The byte after a piece is a separator (0) or a joining byte, with the next piece right
    # after it or not; few are both, and only those are looked at further.
    near = np.flatnonzero(data[ends[:-1]])
    near = near[starts[near + 1] == ends[near] + 1]
    if not len(near):
        return starts, ends
    glue = data[ends[near]]

    def single(k: np.ndarray) -> np.ndarray:
        c = data[starts[k]]
        return (ends[k] - starts[k] == 1) & (c >= 97) & (c <= 122)

    before, after = single(near), single(near + 1)
    near = near[np.where(glue == _DOT, before & after, before | ((glue == _AMP) & after))]
    if not len(near):
        return starts, ends
    keep = np.ones(len(starts), dtype=bool)
    keep[near + 1] = False
    starts = starts[keep]
    keep[near + 1] = True
    keep[near] = False
    return starts, ends[keep]


def _tokenize_slowly(texts: Sequence[str], tokenizer: int) -> TokenizedChunk:
    """``texts`` tokenized by :func:`raw_tokens`, every distinct token a plain-string group."""
    per_text = [raw_tokens(t, tokenizer) for t in texts]
    chunk = TokenizedChunk(np.array([len(t) for t in per_text], dtype=np.int64), None)
    groups: dict[str, int] = {}
    inverse = [chunk.string_group(t, groups) for tokens in per_text for t in tokens]
    chunk.inverse = np.array(inverse, dtype=np.int32)
    return chunk
