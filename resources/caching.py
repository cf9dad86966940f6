"""What `Cache-Control` says (contract §13): anonymous reads may be kept by shared caches for a moment and
served stale while the service fails; what needed a token is private; browsers revalidate every time."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CachePolicy:
    public: str  # anonymous reads
    private: str  # reads that needed a token

    @classmethod
    def of(cls, shared_seconds: int, stale_if_error_seconds: int) -> "CachePolicy":
        stale = f", stale-if-error={stale_if_error_seconds}" if stale_if_error_seconds else ""
        if shared_seconds:
            public = (f"public, max-age=0, s-maxage={shared_seconds}, stale-while-revalidate={shared_seconds}"
                      f"{stale}")
        else:
            public = f"public, no-cache{stale}"
        return cls(public=public, private="private, no-cache")

    def header(self, private: bool) -> str:
        return self.private if private else self.public
