"""One helper for every registry of mirage (claims, rewards, verifiers, task
families, hub sources, architectures, SynLogic rules, training job functions):
a name -> entry mapping whose ``lookup`` of an unknown name raises ValueError
naming the kind and every known name, so that a typo in a config or a call is
one line that says what would have been accepted."""

from __future__ import annotations

from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(dict[str, T], Generic[T]):
    """A dict of named entries of one ``kind`` (``"claim"``, ``"reward"``, ...)."""

    def __init__(self, kind: str, entries=()):
        super().__init__(entries)
        self.kind = kind

    def lookup(self, name: str) -> T:
        try:
            return self[name]
        except (KeyError, TypeError):
            raise ValueError(f"unknown {self.kind} {name!r}; known: {', '.join(sorted(self))}") from None
