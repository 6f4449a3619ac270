"""Clone detection settings, kept apart from audit.clones so the command line loads without numpy."""

from __future__ import annotations

from dataclasses import dataclass

UNIT_KINDS = ("function", "method")
MODES = ("type1", "type2")


@dataclass(frozen=True)
class CloneParams:
    """Every setting that changes which clones are found; echoed into the report."""

    mode: str = "type2"
    kgram: int = 10  # tokens per kgram: about one statement of leaf tokens
    window: int = 6  # kgrams per winnowing window
    num_perm: int = 128
    seed: int = 1
    lsh_threshold: float = 0.3  # estimated kgram Jaccard for a candidate pair
    threshold: float = 0.7  # verified similarity floor for an edge of a clone group
    min_lines: int = 6  # units with fewer source lines are skipped
    min_tokens: int = 50  # ... and so are units with fewer tokens
    # Bump when the token stream or fingerprints change for the same settings:
    # cached sketches (audit.cache keys on these options) are then recomputed.
    normaliser_version: int = 1

    def problems(self) -> list[str]:
        """Every invalid setting, so the user fixes them in one go."""
        out = []
        if self.mode not in MODES:
            out.append(f"clone mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.kgram < 2 or self.window < 1:
            out.append(f"kgram must be >= 2 and window >= 1, got {self.kgram} and {self.window}")
        for name in ("lsh_threshold", "threshold"):
            value = getattr(self, name)
            if not 0.0 < value <= 1.0:
                out.append(f"{name.replace('_', ' ')} must be in (0, 1], got {value}")
        if self.min_lines < 0 or self.min_tokens < self.kgram:
            out.append(f"min lines must be >= 0 and min tokens >= kgram ({self.kgram})")
        return out
