"""A market's last fills, read at its close, are stamped as seen when they were read."""

import asyncio
import time
from pathlib import Path
from typing import Any

from actors.context import RunContext
from actors.market_host import HostedMarket
from engine.config import load_config

CONFIG = Path(__file__).resolve().parents[3] / "configs" / "local.yaml"
CANCEL_S = 0.05


class _SlowCancelVenue:
    """A home venue whose cancel takes its REST round trips, then reports one fill."""

    async def cancel_all(self, now: int) -> int:
        await asyncio.sleep(CANCEL_S)
        return 0

    async def poll_fills(self, now: int) -> list[str]:
        return ["the last fill"]

    async def close(self) -> None:
        pass


def test_fills_read_at_close_are_seen_after_the_cancel(tmp_path: Path):
    config = load_config(CONFIG)
    ctx = RunContext("r1", config.config_hash, str(tmp_path), 0, 7)
    market = HostedMarket(config, "BTC/USDT", ctx, home_access=(None, None, None), incarnation="")
    market._venue = _SlowCancelVenue()
    market._record_cancel_all = lambda now: None  # type: ignore[method-assign]
    seen: list[tuple[Any, int]] = []
    market.on_fills = lambda fills, seen_ns: seen.append((fills, seen_ns))  # type: ignore[method-assign]

    began = time.time_ns()
    asyncio.run(market.close(began))

    [(fills, seen_ns)] = seen
    assert fills == ["the last fill"]
    # the hop to the router is timed from here: the cancel's time is not hidden in it
    assert seen_ns - began >= CANCEL_S * 1e9
