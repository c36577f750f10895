"""The character vocabulary: ``stoi``/``itos`` of every character a model can read
or write. It travels with the model (checkpoint JSON), so sampling never depends
on the corpus being at hand. No torch here."""
from __future__ import annotations


class VocabError(ValueError):
    """Text holds characters the vocabulary lacks."""


class Vocab:
    def __init__(self, chars: list[str]):
        """``chars``: distinct single characters (a checkpoint's JSON may hold anything:
        an entry of two characters could never be written, a repeated one would make
        encoding and decoding disagree)."""
        self.itos = list(chars)
        for i, c in enumerate(self.itos):
            if not isinstance(c, str) or len(c) != 1:
                raise ValueError(f"vocabulary entry {i} must be one character, got {c!r:.40}")
        self.stoi = {c: i for i, c in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            twice = next(c for i, c in enumerate(self.itos) if self.stoi[c] != i)
            raise ValueError(f"the vocabulary lists {twice!r} more than once")

    @classmethod
    def from_texts(cls, texts: list[str]) -> "Vocab":
        chars: set[str] = set()
        for t in texts:         # text by text: no copy of a whole corpus joined together
            chars.update(t)
        return cls(sorted(chars))

    def __len__(self) -> int:
        return len(self.itos)

    def __eq__(self, other) -> bool:
        return isinstance(other, Vocab) and self.itos == other.itos

    def missing(self, text: str) -> list[str]:
        return sorted(set(text) - self.stoi.keys())

    def encode(self, text: str) -> list[int]:
        bad = self.missing(text)
        if bad:
            raise VocabError("characters not in the model's vocabulary: "
                             + " ".join(repr(c) for c in bad))
        return [self.stoi[c] for c in text]

    def decode(self, ids) -> str:
        return "".join(self.itos[int(i)] for i in ids)

    def to_list(self) -> list[str]:
        return list(self.itos)
