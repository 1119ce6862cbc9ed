"""Reading a YAML config: `${ENV}` interpolation, validation, `file: key: reason` errors."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from engine.config.app import AppConfig
from engine.config.base import ConfigError, _invalid

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _interpolate_env(node: Any, path: str, missing: list[str]) -> Any:
    if isinstance(node, dict):
        return {
            k: _interpolate_env(v, f"{path}.{k}" if path else str(k), missing)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_interpolate_env(v, f"{path}[{i}]", missing) for i, v in enumerate(node)]
    if isinstance(node, str) and "${" in node:

        def _sub(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            value = os.environ.get(name)
            if value is None:
                if default is not None:
                    return default
                missing.append(f"{path}: environment variable {name} is not set")
                return ""
            return value

        return _ENV_REF.sub(_sub, node)
    return node


def parse_config(data: Any, source: str = "<config>") -> AppConfig:
    """Validate a config mapping; raise `ConfigError` with `source: key: reason` lines."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: (top level): expected a mapping, got {type(data).__name__}")
    missing: list[str] = []
    data = _interpolate_env(data, "", missing)
    if missing:
        raise ConfigError("\n".join(f"{source}: {m}" for m in missing))
    try:
        return AppConfig.model_validate(data)
    except ValidationError as exc:
        raise _invalid(source, exc) from None


def load_config(path: str | Path) -> AppConfig:
    """Read and validate a YAML config file."""
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"{p}: (file): no such file")
    try:
        data = yaml.safe_load(p.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "(file)"
        raise ConfigError(
            f"{p}: {where}: not valid YAML ({getattr(exc, 'problem', exc)})"
        ) from None
    return parse_config(data, str(p))


def env_references(path: str | Path) -> set[str]:
    """The environment variables a config file names (`${NAME}`): the driver keeps them
    from the processes it starts that do not need them (Ray's workers)."""
    try:
        return {m.group(1) for m in _ENV_REF.finditer(Path(path).read_text())}
    except OSError:
        return set()
