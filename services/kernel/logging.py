"""Structured JSON logging (structlog) with the request's correlation id bound to every line."""

from __future__ import annotations

import logging
import sys

import structlog

__all__ = ["bind_correlation_id", "configure_logging", "get_logger"]


def configure_logging(level: str = "INFO", *, json: bool = True) -> None:
    processors = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(),
    ]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(level=level.upper(), stream=sys.stderr, format="%(message)s")
    for noisy in ("aiokafka", "faust", "mode", "uvicorn.access", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class _StderrLogger:
    """Writes each line to whatever ``sys.stderr`` is at that moment (a test runner may swap
    and close the stream it had when logging was configured); a closed stream drops the line
    instead of failing the caller."""

    def msg(self, message: str) -> None:
        try:
            print(message, file=sys.stderr, flush=True)
        except ValueError:
            pass

    debug = info = warning = warn = error = err = critical = fatal = exception = log = msg


def _stderr_logger(*_args) -> _StderrLogger:
    return _StderrLogger()


def bind_correlation_id(correlation_id: str) -> None:
    structlog.contextvars.bind_contextvars(correlation_id=correlation_id)


def get_logger(name: str):
    return structlog.get_logger(name)
