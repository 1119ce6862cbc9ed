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
from engine.config.validation import run_problems
from engine.log_redaction import guard_logs

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
    """Validate a config mapping, then judge the whole run (`validation`); raise
    `ConfigError` with `source: key: reason` lines."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: (top level): expected a mapping, got {type(data).__name__}")
    missing: list[str] = []
    data = _interpolate_env(data, "", missing)
    if missing:
        raise ConfigError("\n".join(f"{source}: {m}" for m in missing))
    try:
        config = AppConfig.model_validate(data)
    except ValidationError as exc:
        raise _invalid(source, exc) from None
    problems = run_problems(config)
    if problems:
        raise ConfigError("\n".join(f"{source}: {p}" for p in problems))
    return config


def load_config(path: str | Path) -> AppConfig:
    """Read and validate a YAML config file. The secrets it resolves (`${VAR}`) are
    registered with `guard_logs`: from here on this process's log lines hide them."""
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"{p}: (file): no such file")
    if p.is_dir():
        raise ConfigError(f"{p}: (file): is a directory, not a YAML file")
    try:
        text = p.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: (file): cannot be read ({exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: {_yaml_problem(exc)}") from None
    config = parse_config(data, str(p))
    guard_logs(config.secret_values())
    return config


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """`line N: not valid YAML (...)`, N the line to fix. An unclosed bracket or quote is
    only noticed on a later line (or at the end of the file): the line that opened it is
    the one to fix, so that one is named, with where the parser gave up."""
    problem = getattr(exc, "problem", None) or str(exc)
    mark = getattr(exc, "problem_mark", None)
    context = getattr(exc, "context", None) or ""
    opened = getattr(exc, "context_mark", None)
    if mark is None:
        return f"(file): not valid YAML ({problem})"
    if opened is not None and opened.line < mark.line and context.startswith(_OPENERS):
        return (
            f"line {opened.line + 1}: not valid YAML ({context.removeprefix('while ')} that "
            f"starts here; on line {mark.line + 1}: {problem})"
        )
    return f"line {mark.line + 1}: not valid YAML ({problem})"


_OPENERS = ("while parsing a flow", "while scanning a quoted", "while scanning a block scalar")


def env_references(path: str | Path) -> set[str]:
    """The environment variables a config file names (`${NAME}`): the driver keeps them
    from the processes it starts that do not need them (Ray's workers)."""
    try:
        return {m.group(1) for m in _ENV_REF.finditer(Path(path).read_text())}
    except OSError:
        return set()
