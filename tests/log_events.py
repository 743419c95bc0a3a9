"""Wait on log lines instead of sleeping: tests of shutdown paths need to know when a
process-wide signal handler has run."""

from __future__ import annotations

import asyncio
import logging


class LogWatcher(logging.Handler):
    """Sets an event when a log line containing `text` is emitted (same thread as the loop)."""

    def __init__(self, text: str, event: asyncio.Event) -> None:
        super().__init__()
        self.text, self.event = text, event

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self.event.set()
