"""Reading the tables people bring: the local feature table (the bot, the crawler's "local"
provider) and `albumgan-data import --metadata`. A CSV row with more or fewer cells than its
header, and a feature value that is not a number, not finite or far outside the feature's range
(`inf`, `nan`, `1e308`), is dropped with a warning naming the file and line: never kept
silently, where it would end up as a cover's condition or a training label. Torch-free.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path

from albumgan.labels import DEFAULT_SCHEMA

log = logging.getLogger(__name__)

_SPECS = {spec.name: spec for spec in DEFAULT_SCHEMA.features}


class Table:
    """One table being read, and the warnings about it: the first SHOWN in full, then one line
    saying that further problems are dropped unlisted, so that a column of "N/A" in a
    million-row table is not a million log lines."""

    SHOWN = 20

    def __init__(self, path: str | Path, *, quiet: bool = False) -> None:
        self.path = Path(path)
        self.quiet = quiet  # for a second reader of a file whose first reader reports its problems
        self.count = 0

    def warn(self, where: str, problem: str) -> None:
        self.count += 1
        if self.quiet or self.count > self.SHOWN:
            return
        log.warning("%s: %s", where, problem)
        if self.count == self.SHOWN:
            log.warning("%s: further problems in this table are dropped the same way, unlisted", self.path)

    def csv_rows(self) -> tuple[list[str], list[tuple[str, dict[str, str]]]]:
        """The header of a CSV file, and ("file:line", row) for each row whose cells match it;
        empty lines are skipped, as csv.DictReader does."""
        rows = []
        with open(self.path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            header = next(reader, [])
            first_line = reader.line_num + 1  # a quoted cell may span lines: name the first
            for cells in reader:
                where, first_line = f"{self.path}:{first_line}", reader.line_num + 1
                if not cells:
                    continue
                if len(cells) != len(header):
                    self.warn(where, f"{len(cells)} cells where the header has {len(header)}: row dropped")
                    continue
                rows.append((where, dict(zip(header, cells, strict=True))))
        return header, rows

    def feature(self, where: str, name: str, raw: object) -> float | None:
        """A cell as a value of feature `name`: None when empty, and (with a warning) when it is
        not a number or not plausible for the feature."""
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        value = _number(raw)
        spec = _SPECS[name]
        if value is None:
            self.warn(where, f"{name} {raw!r} is not a number: value dropped")
        elif not spec.plausible(value):
            self.warn(where, f"{name} {raw!r} is far outside its range {spec.low:g} to {spec.high:g}: value dropped")
            value = None
        return value


def _number(raw: object) -> float | None:
    """A CSV cell or a JSON value as a float (JSON's true/false are not numbers)."""
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        return None
    try:
        return float(raw)
    except ValueError:
        return None
