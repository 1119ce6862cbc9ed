"""Log lines, tracebacks included, leave a process without signed URLs or secrets."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from engine import log_redaction
from engine.config import load_config
from engine.log_redaction import REDACTED, guard_logs

SIGNED = (
    "wss://api.sim.test/stream?api-key=AK7f3e9c1b2d&api-expires=1765&api-signature=9f8e7d6c5b4a"
)


@pytest.fixture
def emitted() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger whose output is captured as a handler would write it to a log file."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("tests.log_redaction")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, out
    logger.removeHandler(handler)


def test_a_traceback_quoting_a_signed_url_is_written_without_its_query(emitted) -> None:
    logger, out = emitted
    guard_logs()
    try:
        raise ConnectionError(f"ping-pong keepalive missing on {SIGNED}")
    except ConnectionError:
        logger.exception("hedge venue %s: stream down", "binance-sim")
    text = out.getvalue()
    assert "hedge venue binance-sim: stream down" in text
    assert "Traceback" in text and "ConnectionError" in text
    assert "wss://api.sim.test/stream?<redacted>" in text
    for leaked in ("AK7f3e9c1b2d", "api-signature", "9f8e7d6c5b4a"):
        assert leaked not in text


def test_a_registered_secret_is_hidden_wherever_it_appears(emitted) -> None:
    logger, out = emitted
    guard_logs(["Zq8v-secret-value-41", "short", None])
    logger.warning("signing with %s failed", "Zq8v-secret-value-41")
    logger.warning("kept: %s", "short")
    text = out.getvalue()
    assert "Zq8v-secret-value-41" not in text
    assert f"signing with {REDACTED} failed" in text
    assert "kept: short" in text  # too short to search for: it would hide ordinary words
    guard_logs([SecretStr("Kp3-a-pydantic-secret")])  # as actors get their key pairs
    logger.warning("key %s", "Kp3-a-pydantic-secret")
    assert "Kp3-a-pydantic-secret" not in out.getvalue()


def test_the_factory_is_wrapped_once_however_often_actors_call(emitted) -> None:
    guard_logs()
    factory = logging.getLogRecordFactory()
    guard_logs(["another-secret-1234"])
    assert logging.getLogRecordFactory() is factory


def test_a_loaded_config_registers_its_secrets(tmp_path, emitted) -> None:
    data = yaml.safe_load(Path("configs/local.yaml").read_text())
    venue = next(v for v in data["venues"] if v["id"] == "binance-sim")
    venue.update(api_key="venue-key-0123456789", api_secret="venue-secret-0123456789")
    path = tmp_path / "keys.yaml"
    path.write_text(yaml.safe_dump(data))
    config = load_config(path)
    assert {"venue-key-0123456789", "venue-secret-0123456789"} <= set(config.secret_values())
    logger, out = emitted
    logger.error("binance rejected venue-key-0123456789")
    assert out.getvalue().strip().endswith(f"binance rejected {REDACTED}")


@given(st.text(alphabet=st.characters(codec="ascii", exclude_characters="?#\n "), max_size=40))
def test_text_without_urls_or_secrets_is_unchanged(text: str) -> None:
    if any(s in text for s in log_redaction._secrets) or "://" in text:
        return
    assert log_redaction.redact(text) == text
