"""When the served data is dated, and when a date is settled.

Rows are dated (`updated_at`, and the times in data_version) when they are written, and become visible when
their transaction commits. So a second L is settled, no change dated L or earlier can still appear, only
COMMIT_MARGIN after it ended; a transaction that runs longer than that dates the node lists again as it
commits (models/database.py). resources/conditional.py builds `Last-Modified` on this.
"""
import time

COMMIT_MARGIN = 1.0


def wall_clock() -> float:
    """Seconds since the epoch (tests replace it to move time)."""
    return time.time()


def settled(seconds: int) -> bool:
    """No change dated `seconds` or earlier can still become visible."""
    return wall_clock() >= seconds + 1 + COMMIT_MARGIN
