"""Novelty: how close generated tunes come to the corpus.

``nearest`` finds each tune's nearest corpus tune by rapidfuzz's ``fuzz.ratio``
(normalised Indel similarity); ``CopyIndex`` finds the longest run of
characters a tune shares verbatim with the corpus (suffix array + LCP).
"""
from __future__ import annotations

_PRIVATE = 0xF0000       # separators between corpus bodies: unique private-use characters


class CopyIndex:
    """Longest run of characters a text shares with the corpus texts (suffix array)."""

    def __init__(self, texts: list[str]):
        import numpy as np
        self.text = "".join(t + chr(_PRIVATE + i % 0xFFFD) for i, t in enumerate(texts))
        codes = np.frombuffer(self.text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
        self.sa = _suffix_array(codes).tolist()
        self.owner = np.repeat(np.arange(len(texts)), [len(t) + 1 for t in texts])
        self.count = len(texts)

    def occurs(self, s: str) -> bool:
        import bisect
        n, text, sa = len(s), self.text, self.sa
        i = bisect.bisect_left(sa, s, key=lambda p: text[p:p + n])
        return i < len(sa) and text[sa[i]:sa[i] + n] == s

    def longest_copy(self, query: str) -> int:
        best = 0
        for i in range(len(query)):
            while i + best < len(query) and self.occurs(query[i:i + best + 1]):
                best += 1
        return best

    def longest_shared(self) -> list[int]:
        """For each corpus text, the longest run it shares with another corpus text."""
        import numpy as np
        lcp = np.array(_lcp_array(self.text, self.sa))
        own = self.owner[np.array(self.sa, dtype=np.int64)]
        cross = np.nonzero(own[1:] != own[:-1])[0]
        best = np.zeros(self.count, dtype=np.int64)
        np.maximum.at(best, own[cross], lcp[cross + 1])
        np.maximum.at(best, own[cross + 1], lcp[cross + 1])
        return best.tolist()


def _suffix_array(codes):
    """Suffix array by prefix doubling (numpy sorts; about half a second for 0.5 M chars)."""
    import numpy as np
    n = len(codes)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    rank, k = np.unique(codes, return_inverse=True)[1].astype(np.int64).reshape(-1), 1
    while True:
        second = np.full(n, -1, np.int64)
        second[:n - k] = rank[k:]
        sa = np.lexsort((second, rank))
        r, s = rank[sa], second[sa]
        new = np.zeros(n, np.int64)
        new[1:] = np.cumsum((r[1:] != r[:-1]) | (s[1:] != s[:-1]))
        rank = np.empty(n, np.int64)
        rank[sa] = new
        if new[-1] == n - 1 or k >= n:
            return sa
        k *= 2


def _lcp_array(text: str, sa: list[int]) -> list[int]:
    """lcp[r] = common prefix of suffixes sa[r-1] and sa[r] (Kasai et al.)."""
    n = len(sa)
    rank, lcp, h = [0] * n, [0] * n, 0
    for r, p in enumerate(sa):
        rank[p] = r
    for p in range(n):
        r = rank[p]
        if r == 0:
            h = 0
            continue
        q = sa[r - 1]
        while p + h < n and q + h < n and text[p + h] == text[q + h]:
            h += 1
        lcp[r], h = h, max(h - 1, 0)
    return lcp


def nearest(bodies: list[str], choices: list[str], skip_self: bool = False) -> list[tuple[float, int]]:
    """(similarity 0..1, index) of the nearest choice by ``fuzz.ratio``. With ``skip_self``
    the bodies are the choices and each one skips itself. No ``score_cutoff``: the best
    score is wanted even when low, and extractOne raises its cutoff as it scans anyway."""
    from rapidfuzz import fuzz, process
    out = []
    for i, body in enumerate(bodies):
        if skip_self:
            hits = process.extract(body, choices, scorer=fuzz.ratio, processor=None, limit=2)
            hit = next((h for h in hits if h[2] != i), None)
        else:
            hit = process.extractOne(body, choices, scorer=fuzz.ratio, processor=None)
        out.append((hit[1] / 100, hit[2]) if hit else (0.0, -1))
    return out
