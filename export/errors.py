"""The export package's one error type: a clear, one-line reason an export was refused."""


class ExportError(RuntimeError):
    """An export that failed; nothing was written where the bot looks."""
