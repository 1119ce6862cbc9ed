"""Log records without secrets: the last guard between a credential and a log file.

`describe` (engine/venues/errors.py) redacts the error text marketmesh writes itself,
but a traceback (`log.exception`) and a library's own log line (ccxt, aiohttp) quote
an exception's text as it was raised, and ccxt's text holds the signed URL it called
(HollaEx signs its websocket URL with `api-key` and `api-signature`, Binance its REST
query with `signature`). `guard_logs` wraps the process's log-record factory so that
every record, whatever logger made it, leaves with URL query strings and the
process's registered secret values replaced, traceback included.

A record factory rather than a handler filter: filters run per handler, and Ray's
worker, the CLI and a test harness each add their own handlers; the factory runs once
per record for all of them.
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
from collections.abc import Iterable
from typing import Any

# a URL's query string: HollaEx signs its websocket in it (api-key, api-signature),
# Binance its signed REST requests (signature), and ccxt quotes the URL in its errors
_QUERY = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s?#]+)\?[^\s#]*", re.IGNORECASE)


def redact_urls(text: str) -> str:
    """`text` with every URL's query string replaced by `?<redacted>`: an error that
    quotes a signed URL must not carry the key or signature into logs, status and
    the alerts table."""
    return _QUERY.sub(r"\1?<redacted>", text)


REDACTED = "<redacted>"
# a secret shorter than this is not searched for: replacing every "abc" in a log
# would hide more than it protects, and no venue issues keys that short
_MIN_SECRET_LEN = 8

_lock = threading.Lock()
_secrets: set[str] = set()
_installed = False


def redact(text: str) -> str:
    """`text` with URL query strings and every registered secret value replaced."""
    text = redact_urls(text)
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def guard_logs(secrets: Iterable[Any] = ()) -> None:
    """Redact every log record this process makes from now on; `secrets` are values
    (API keys and secrets: text, pydantic `SecretStr`s, or None) to hide besides URL
    query strings. Idempotent: each actor holding credentials calls it with its own,
    and they add up."""
    global _installed
    clear = (s.get_secret_value() if hasattr(s, "get_secret_value") else s for s in secrets)
    with _lock:
        _secrets.update(s for s in clear if s and len(s) >= _MIN_SECRET_LEN)
        if _installed:
            return
        logging.setLogRecordFactory(_redacting(logging.getLogRecordFactory()))
        _installed = True


def _redacting(make: Any) -> Any:
    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = make(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: logging reports it at emit, leave it be
            return record
        record.msg, record.args = redact(message), None
        if record.exc_info and record.exc_info[1] is not None:
            # formatted here, once: a handler's formatter reuses `exc_text` when set
            record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)))
            record.exc_text = record.exc_text.rstrip("\n")
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return record

    return factory
