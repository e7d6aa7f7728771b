"""Logging: stdlib logging to a file or stderr, as text or JSON lines, with
Twisted's own log routed into it."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

from twisted.logger import STDLibLogObserver, globalLogBeginner

from homeserver.config.model import LoggingConfig

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with any ``extra=`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def log_path(
    config: LoggingConfig, data_dir: Path, process: str = "main"
) -> Path | None:
    """The log file of ``process``, or None when logging goes to stderr.

    Main writes ``logging.file``; a worker writes its own file next to it,
    named after it (``homeserver.log`` -> ``homeserver-reader1.log``), so each
    process's log stays readable on its own.
    """
    if config.file == "-":
        return None
    path = Path(config.file)
    path = path if path.is_absolute() else data_dir / path
    if process == "main":
        return path
    return path.with_name(f"{path.stem}-{process}{path.suffix}")


def setup_logging(config: LoggingConfig, data_dir: Path, process: str = "main") -> None:
    """Configure the root logger from the config, once, at start-up."""
    path = log_path(config, data_dir, process)
    if path is None:
        handler: logging.Handler = logging.StreamHandler(sys.stderr)
    else:
        handler = logging.FileHandler(path)
    if config.format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(config.level)
    globalLogBeginner.beginLoggingTo(
        [STDLibLogObserver()],  # type: ignore[list-item]
        redirectStandardIO=False,
    )
