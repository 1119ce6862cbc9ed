"""The driver's loop while the graph trades: status, alerts, remote stop, apply, scale."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import ray

from actors.market import market_statuses
from marketmesh.graph.builder import Graph
from marketmesh.graph.control import ask_control
from marketmesh.graph.scale import scale_graph
from marketmesh.metrics import GraphCollector
from marketmesh.monitoring import GraphMonitor

log = logging.getLogger(__name__)

StatusCallback = Callable[[float, list[dict[str, Any]], dict[str, Any]], None]


class StopOnSignal:
    """Turns SIGINT/SIGTERM into a stop request, so the clean shutdown always runs.

    Ray's driver swallows SIGINT in places; a flag checked by the run loop is
    the one behaviour that holds wherever the signal lands.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self.requested = ""
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopOnSignal:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum: int, _frame: Any) -> None:
        self.requested = signal.Signals(signum).name
        self._event.set()

    def wait(self, timeout_s: float) -> None:
        self._event.wait(timeout_s)


def supervise(
    graph: Graph,
    monitor: GraphMonitor,
    *,
    duration_s: float,
    status_interval_s: float,
    on_status: StatusCallback | None,
    metrics: GraphCollector | None,
) -> str:
    """Run until `duration_s` has passed or a stop is requested; returns why it stopped
    ("" when the duration ran out)."""
    control = graph.control
    stop = StopOnSignal()
    config_version = 1
    started = time.monotonic()
    with stop:
        while not stop.requested and (elapsed := time.monotonic() - started) < duration_s:
            stop.wait(min(status_interval_s, max(0.0, duration_s - elapsed)))
            polled = ask_control(control.poll.remote())
            remote_stop, version, scale_waiting = polled or ("", config_version, False)
            if scale_waiting and not remote_stop and not stop.requested:
                request = ask_control(control.take_scale.remote())
                if request is not None:  # `marketmesh scale`: add/remove markets live
                    done = scale_graph(graph, *request[1:])
                    ask_control(control.finish_scale.remote(request[0], done))
            if version != config_version:  # `marketmesh apply`/`rollback` changed the config
                config_version = version
                live = ray.get(control.current_config.remote())
                monitor.reconfigure(live.with_secrets_from(graph.config))
            if remote_stop:
                stop.requested = f"stop requested ({remote_stop})"
            if stop.requested or (on_status is None and metrics is None and not monitor.active):
                continue
            statuses = market_statuses(graph.handles)
            router_status = ray.get(graph.router.status.remote())
            fired = monitor.tick(statuses, router_status)
            if fired:
                ask_control(control.record_alerts.remote(fired))
            if monitor.kill_switch:
                stop.requested = f"kill switch ({monitor.kill_switch})"
            if metrics is not None:
                metrics.update(statuses, router_status)
            if on_status is not None:
                on_status(time.monotonic() - started, statuses, router_status)
    if stop.requested:
        log.warning("%s received: shutting down cleanly", stop.requested)
    return stop.requested
