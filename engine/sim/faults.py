"""Seeded, reproducible faults of a simulated venue: what real exchanges do to clients.

`FaultModel.decide` draws every fault of one request from a generator seeded
by (seed, venue, request class, request number), so the n-th order request a
venue sees gets the same faults in every run with the same seed, whatever the
wall clock and whatever other request classes did meanwhile. Request classes
are `book` (depth, tickers), `order` (new orders) and `other`. The only
cross-request state is a 429 burst: once started it answers the next
`rate_limit_burst - 1` requests of any class with 429 as well.

The fault kinds follow what hedging against real venues meets (cf. the failure
modes listed in Binance's spot API docs, "LIMITS" and "Error codes"; and
hummingbot/hummingbot#5688 for orders below the minimum):

* latency: lognormal, median `latency_median_ms`, log-sd `latency_sigma`
  (heavy right tail, as measured round trips are);
* timeout: the venue hangs `timeout_hang_s` and answers 504; a share
  `timeout_after_execution_share` of them executes the request first (the
  dreaded unknown outcome: the order exists, the client never heard of it);
* 5xx: 500/502/503 before the request is handled;
* 429 bursts; rejects of new orders; partial fills of taker orders (only a
  share of the quantity executes, the rest expires or rests);
* stale books: a book request is answered from an older book;
* outage windows: every request answers 503.

Pure: `decide` takes the request time, nothing here reads a clock or sleeps.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import yaml
from pydantic import ValidationError

from engine.config import ConfigError, FaultConfig, FaultsFileConfig


class RequestClass(StrEnum):
    BOOK = "book"
    ORDER = "order"
    OTHER = "other"


class Failure(StrEnum):
    """What the venue does instead of answering normally (NONE: answer normally)."""

    NONE = "none"
    OUTAGE = "outage"
    ERROR_5XX = "error_5xx"
    RATE_LIMITED = "rate_limited"
    TIMEOUT_BEFORE = "timeout_before"  # hang, never execute
    TIMEOUT_AFTER = "timeout_after"  # execute, then hang: the unknown outcome
    REJECT = "reject"


@dataclass(frozen=True, slots=True)
class FaultDecision:
    """Every fault of one request."""

    failure: Failure = Failure.NONE
    latency_s: float = 0.0
    http_status: int = 200  # for ERROR_5XX
    fill_share: float | None = None  # partial fill: at most this share of the quantity executes
    book_age_ms: int = 0  # stale book: answer from the book this much older
    hang_s: float = 0.0  # timeouts: how long the venue holds the request before its 504

    @property
    def executes(self) -> bool:
        """Whether the venue runs the request at all."""
        return self.failure in (Failure.NONE, Failure.TIMEOUT_AFTER)


NO_FAULT = FaultDecision()
_5XX = (500, 502, 503)


class FaultModel:
    """The faults one simulated venue injects, reproducible for a seed."""

    def __init__(self, config: FaultConfig, *, seed: int, venue_id: str, start_ns: int) -> None:
        self.config = config
        self._seed = seed
        self._venue_id = venue_id
        self._start_ns = start_ns
        self._count: dict[RequestClass, int] = dict.fromkeys(RequestClass, 0)
        self._burst_left = 0
        self._windows_ns = [
            (
                start_ns + int(w.start_s * 1e9),
                start_ns + int((w.start_s + w.duration_s) * 1e9),
            )
            for w in config.outages
        ]

    def __repr__(self) -> str:
        return f"FaultModel(venue={self._venue_id!r}, seed={self._seed})"

    def in_outage(self, ts_ns: int) -> bool:
        return any(lo <= ts_ns < hi for lo, hi in self._windows_ns)

    def decide(self, request_class: RequestClass, ts_ns: int) -> FaultDecision:
        """The faults of the next request of `request_class`, arriving at `ts_ns`."""
        cfg = self.config
        if not cfg.active:
            return NO_FAULT
        n = self._count[request_class]
        self._count[request_class] = n + 1
        # str seeds are hashed with SHA-512 by `random.Random`: stable across runs/processes
        rng = random.Random(f"{self._seed}:{self._venue_id}:{request_class.value}:{n}")
        latency_s = 0.0
        if cfg.latency_median_ms > 0:
            latency_s = cfg.latency_median_ms / 1e3 * math.exp(rng.gauss(0.0, cfg.latency_sigma))
        # one draw per fault kind, always in this order, so one kind never shifts another
        u_timeout, u_after, u_5xx, u_429, u_reject, u_partial, u_share, u_stale, u_status = (
            rng.random() for _ in range(9)
        )
        if self.in_outage(ts_ns):
            return FaultDecision(Failure.OUTAGE, latency_s, 503)
        if self._burst_left > 0:
            self._burst_left -= 1
            return FaultDecision(Failure.RATE_LIMITED, latency_s, 429)
        if u_429 < cfg.rate_limit_rate:
            self._burst_left = cfg.rate_limit_burst - 1
            return FaultDecision(Failure.RATE_LIMITED, latency_s, 429)
        if u_5xx < cfg.error_5xx_rate:
            status = _5XX[min(int(u_status * len(_5XX)), len(_5XX) - 1)]
            return FaultDecision(Failure.ERROR_5XX, latency_s, status)
        if u_timeout < cfg.timeout_rate:
            after = u_after < cfg.timeout_after_execution_share
            failure = Failure.TIMEOUT_AFTER if after else Failure.TIMEOUT_BEFORE
            return FaultDecision(failure, latency_s, 504, hang_s=cfg.timeout_hang_s)
        if request_class is RequestClass.ORDER:
            if u_reject < cfg.reject_rate:
                return FaultDecision(Failure.REJECT, latency_s, 400)
            if u_partial < cfg.partial_fill_rate:
                lo = cfg.partial_fill_min_share
                return FaultDecision(latency_s=latency_s, fill_share=lo + (1 - lo) * u_share)
        if request_class is RequestClass.BOOK and u_stale < cfg.stale_book_rate:
            return FaultDecision(latency_s=latency_s, book_age_ms=cfg.stale_book_age_ms)
        return FaultDecision(latency_s=latency_s)


def load_faults(path: str | Path) -> FaultsFileConfig:
    """Read and validate a `--faults` YAML file; `ConfigError` names the file and key."""
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"{p}: (file): no such file")
    try:
        data = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: (file): not valid YAML ({exc})") from None
    try:
        return FaultsFileConfig.model_validate(data)
    except ValidationError as exc:
        lines = [
            f"{p}: {'.'.join(str(part) for part in err['loc'])}: {err['msg']}"
            for err in exc.errors(include_input=False, include_url=False)
        ]
        raise ConfigError("\n".join(lines)) from None


class StreamFaults:
    """Seeded faults of a simulated venue's websocket streams (pure; takes the time).

    A disconnect drops every connection `stream_disconnect_every_s` after it
    opened; `depth_gap_rate` loses a diff-depth event (the next one's `U`
    skips ahead: the client must resync from a snapshot) and
    `depth_repeat_rate` sends one twice (the client must drop it by `u`);
    at `stream_stall_at_s` the connections then open stop sending but stay
    open (only a client watching the age of its data notices); at
    `listen_key_expire_at_s` every user-data listen key expires, once.
    """

    def __init__(self, config: FaultConfig, *, seed: int, venue_id: str, start_ns: int) -> None:
        self.config = config
        self._rng = random.Random(f"{seed}:{venue_id}:stream")
        self._every_ns = int(config.stream_disconnect_every_s * 1e9)
        self._stall_ns = start_ns + int(config.stream_stall_at_s * 1e9)
        self._expire_ns = start_ns + int(config.listen_key_expire_at_s * 1e9)
        self._expired = config.listen_key_expire_at_s <= 0

    def __repr__(self) -> str:
        return f"StreamFaults({self.config.stream_disconnect_every_s}s)"

    def connection(self, opened_ns: int, now_ns: int) -> str | None:
        """ "disconnect", "stall" or None for one connection opened at `opened_ns`."""
        if self._every_ns and now_ns - opened_ns >= self._every_ns:
            return "disconnect"
        if self.config.stream_stall_at_s > 0 and opened_ns < self._stall_ns <= now_ns:
            return "stall"
        return None

    def depth_event(self) -> str | None:
        """ "gap" (lose it), "repeat" (send it twice) or None for the next depth event."""
        u_gap, u_repeat = self._rng.random(), self._rng.random()
        if u_gap < self.config.depth_gap_rate:
            return "gap"
        if u_repeat < self.config.depth_repeat_rate:
            return "repeat"
        return None

    def expire_listen_key(self, now_ns: int) -> bool:
        """True once, at `listen_key_expire_at_s`: every listen key expires now."""
        if self._expired or now_ns < self._expire_ns:
            return False
        self._expired = True
        return True
