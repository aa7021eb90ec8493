"""The driver's progress bar (tqdm): architectures done, archs/s, ETA, failures so far."""

from __future__ import annotations

import sys

from tqdm import tqdm


class Progress:
    def __init__(self, total: int, *, enabled: bool = True, desc: str = "scoring") -> None:
        self.bar = tqdm(total=total, desc=desc, unit="arch", disable=not enabled, file=sys.stderr,
                        dynamic_ncols=True, smoothing=0.05)

    def update(self, n: int, *, failed: int = 0) -> None:
        self.bar.update(n)
        if failed:
            self.bar.set_postfix(failed=failed, refresh=False)

    def note(self, message: str) -> None:
        """One line for the user (a retired scorer, what is pending) without breaking the bar; shown even
        when the bar itself is off."""
        tqdm.write(message, file=sys.stderr)

    def close(self) -> None:
        self.bar.close()
