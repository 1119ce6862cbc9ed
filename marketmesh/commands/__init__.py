"""Subcommands that live in their own modules, each with `register(app)`.

Every module imports only typer at import time and pulls in its heavy
dependencies inside the command, so `marketmesh sla` never pays for Ray.
"""

from __future__ import annotations

import importlib
import importlib.util

import typer

MODULES = (
    "backtest",
    "compact",
    "check",
    "explain",
    "recover",
    "report",
    "rfq",
    "status",
    "ops",
    "ui",
    "incentives",
)


def register_all(app: typer.Typer) -> None:
    for name in MODULES:
        module_name = f"{__name__}.{name}"
        if importlib.util.find_spec(module_name) is None:
            continue
        importlib.import_module(module_name).register(app)
