"""Reading environment variables: one parser for every kind, one-line errors naming the variable."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping

RATE_LIMIT_FORM = re.compile(r"([0-9]{1,9})/([0-9]{1,9})")


class ConfigError(RuntimeError):
    """The environment does not describe a configuration the service can start with."""


TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _env_value(env: Mapping[str, str], name: str) -> str | None:
    """The variable's value without surrounding blanks; None when unset or blank."""
    raw = env.get(name, "").strip()
    return raw or None


def env_str(env: Mapping[str, str], name: str, default: str) -> str:
    """The variable as given (secrets, URLs keep their blanks), else ``default``."""
    return env[name] if _env_value(env, name) else default  # kept as given: secrets, URLs


def env_int(env: Mapping[str, str], name: str, default: int, minimum: int | None = None) -> int:
    """An integer, at least ``minimum`` when one is given, else ``default``."""
    raw = _env_value(env, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or (minimum is not None and value < minimum):
        least = "" if minimum is None else f" of at least {minimum}"
        raise ConfigError(f"{name} must be an integer{least}, got {raw!r}")
    return value


def parse_rate_limit(text: str) -> tuple[int, int]:
    """Parse ``"count/seconds"`` (``"10/900"``: ten per 900 s); raise ValueError otherwise."""
    match = RATE_LIMIT_FORM.fullmatch(text.strip())
    if match is None or int(match[2]) == 0:
        raise ValueError(f"not count/seconds: {text!r}")
    return int(match[1]), int(match[2])


def env_rate_limit(env: Mapping[str, str], name: str, default: str) -> str:
    """A ``count/seconds`` limit, checked and kept as text, else ``default``."""
    raw = _env_value(env, name)
    if raw is None:
        return default
    try:
        parse_rate_limit(raw)
    except ValueError:
        raise ConfigError(
            f"{name} must be count/seconds with seconds > 0 (e.g. 10/900), got {raw!r}"
        ) from None
    return raw.strip()


def env_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    """1/0, true/false, yes/no, on/off in any case, else ``default``."""
    raw = _env_value(env, name)
    if raw is None:
        return default
    if raw.lower() in TRUE_WORDS | FALSE_WORDS:
        return raw.lower() in TRUE_WORDS
    raise ConfigError(f"{name} must be one of 1/0, true/false, yes/no, on/off, got {raw!r}")


def env_choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    """One of ``choices``, matched without regard to case and returned as spelled there."""
    raw = _env_value(env, name)
    if raw is None:
        return default
    for choice in choices:
        if raw.lower() == choice.lower():
            return choice
    raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")


def env_list(env: Mapping[str, str], name: str) -> list[str]:
    """Comma-separated items, blanks dropped."""
    return [item.strip() for item in (_env_value(env, name) or "").split(",") if item.strip()]


def env_networks(env: Mapping[str, str], name: str, default: str) -> list[str]:
    """Comma-separated IP networks (``10.0.0.0/8``, ``::1``), checked; ``default`` if unset."""
    items = env_list(env, name) or default.split(",")
    try:
        return [str(ipaddress.ip_network(item, strict=False)) for item in items]
    except ValueError:
        raise ConfigError(f"{name} must be IP networks like 10.0.0.0/8, got {items!r}") from None
