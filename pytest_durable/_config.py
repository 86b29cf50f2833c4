"""The project's wrangler configuration, read as wrangler reads it.

``find_config`` looks for ``wrangler.toml``, ``wrangler.json`` or
``wrangler.jsonc`` from a folder upwards; ``load_config`` parses one;
``Project`` imports its main module (its folder becomes importable, as the
runtime imports ``src/entry.py``) and resolves the Durable Object classes
its bindings name. Errors are ``ConfigError`` and name the file and the key.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Final

__all__ = ["Binding", "ConfigError", "Project", "WranglerConfig", "find_config", "load_config"]

# In wrangler's order: in one folder, wrangler.json wins over .jsonc over .toml.
CONFIG_NAMES: Final = ("wrangler.json", "wrangler.jsonc", "wrangler.toml")


class ConfigError(ValueError):
    """The wrangler configuration cannot be used as it is."""


@dataclass(frozen=True)
class Binding:
    name: str
    class_name: str
    script_name: str | None = None


@dataclass(frozen=True)
class WranglerConfig:
    path: Path
    name: str
    main: Path | None
    compatibility_date: str | None
    compatibility_flags: tuple[str, ...]
    bindings: tuple[Binding, ...]
    vars: dict[str, Any] = field(default_factory=dict)
    sqlite_classes: frozenset[str] = frozenset()


def find_config(start: Path, stop: Path | None = None) -> Path | None:
    """The nearest wrangler config in ``start`` or a parent, not above ``stop``."""
    folder = start if start.is_dir() else start.parent
    for candidate in (folder, *folder.parents):
        for name in CONFIG_NAMES:
            path = candidate / name
            if path.is_file():
                return path
        if stop is not None and candidate == stop:
            break
    return None


def load_config(path: Path) -> WranglerConfig:
    """Parse a wrangler config file."""
    if not path.is_file():
        raise ConfigError(f"{path}: no such wrangler configuration file")
    text = path.read_text(encoding="utf-8")
    raw = _parse_toml(path, text) if path.suffix == ".toml" else _parse_jsonc(path, text)
    return _read(path, raw)


def _parse_toml(path: Path, text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


_JSONC_TOKENS: Final = re.compile(r'"(?:\\.|[^"\\])*"|//[^\n]*|/\*.*?\*/', re.DOTALL)
_TRAILING_COMMA: Final = re.compile(r'"(?:\\.|[^"\\])*"|,(\s*[}\]])', re.DOTALL)


def _parse_jsonc(path: Path, text: str) -> dict[str, Any]:
    """JSON with comments and trailing commas; positions in errors stay true."""

    def blank_comment(match: re.Match[str]) -> str:
        token = match.group(0)
        if token.startswith('"'):
            return token
        return re.sub(r"[^\n]", " ", token)

    def drop_comma(match: re.Match[str]) -> str:
        return match.group(0) if match.group(1) is None else " " + match.group(1)

    cleaned = _TRAILING_COMMA.sub(drop_comma, _JSONC_TOKENS.sub(blank_comment, text))
    try:
        data = json.loads(cleaned)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the configuration must be an object")
    return data


def _read(path: Path, raw: dict[str, Any]) -> WranglerConfig:
    main = raw.get("main")
    if main is not None and not isinstance(main, str):
        raise ConfigError(f"{path}: 'main' must be a path, got {main!r}")
    section = raw.get("durable_objects", {})
    entries = section.get("bindings", []) if isinstance(section, dict) else None
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: 'durable_objects.bindings' must be a list of bindings")
    bindings = []
    for index, entry in enumerate(entries):
        where = f"{path}: durable_objects.bindings[{index}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where} must be a table with 'name' and 'class_name'")
        for key in ("name", "class_name"):
            if not isinstance(entry.get(key), str) or not entry[key]:
                raise ConfigError(f"{where} has no '{key}'")
        bindings.append(Binding(entry["name"], entry["class_name"], entry.get("script_name")))
    names = [b.name for b in bindings]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError(f"{path}: durable_objects.bindings names {name!r} twice")
    date = raw.get("compatibility_date")
    flags = raw.get("compatibility_flags", [])
    variables = raw.get("vars", {})
    if not isinstance(variables, dict):
        raise ConfigError(f"{path}: 'vars' must be a table of names and values")
    sqlite: set[str] = set()
    for migration in raw.get("migrations", []) or []:
        if isinstance(migration, dict):
            sqlite.update(migration.get("new_sqlite_classes", []) or [])
    return WranglerConfig(
        path=path,
        name=str(raw.get("name", path.parent.name)),
        main=(path.parent / main) if main else None,
        compatibility_date=str(date) if date is not None else None,
        compatibility_flags=tuple(flags),
        bindings=tuple(bindings),
        vars=dict(variables),
        sqlite_classes=frozenset(sqlite),
    )


class Project:
    """A wrangler config with its main module imported."""

    def __init__(self, config: WranglerConfig) -> None:
        self.config = config
        self.module = self._import_main() if config.main is not None else None

    def _import_main(self) -> ModuleType:
        main = self.config.main
        assert main is not None
        if not main.is_file():
            raise ConfigError(
                f"{self.config.path}: 'main' names {main}, which does not exist; set 'main' "
                f"to the Worker's Python module, relative to {self.config.path.name}"
            )
        if main.suffix != ".py":
            raise ConfigError(
                f"{self.config.path}: 'main' names {main.name}, which is not a Python module; "
                "pytest-durable runs Python Workers"
            )
        return import_module_file(main)

    def activate(self) -> None:
        """Make this project's main module the one its name imports."""
        if self.module is not None and self.config.main is not None:
            self.module = import_module_file(self.config.main, reuse=self.module)

    def resolve(self, binding: Binding) -> type:
        """The class a binding names, checked."""
        where = f"{self.config.path}: durable_objects.bindings '{binding.name}'"
        if binding.script_name:
            raise ConfigError(
                f"{where} points at another Worker (script_name = {binding.script_name!r}); "
                "pytest-durable simulates one Worker: remove script_name in a test "
                "configuration, or test that Worker in its own project"
            )
        if self.module is None:
            raise ConfigError(f"{where} needs 'main', the module that defines {binding.class_name}")
        cls = getattr(self.module, binding.class_name, None)
        if cls is None:
            known = ", ".join(_durable_object_names(self.module)) or "none"
            raise ConfigError(
                f"{where} names class {binding.class_name!r}, but {self.config.main} defines "
                f"no such class; its Durable Object classes are: {known}"
            )
        check_durable_object(cls, f"{where} names {binding.class_name!r}")
        return cls  # type: ignore[no-any-return]


def check_durable_object(cls: Any, context: str) -> None:
    from ._shims.workers import DurableObject

    if not (isinstance(cls, type) and issubclass(cls, DurableObject)):
        raise ConfigError(
            f"{context}, which is not a Durable Object class: subclass "
            "workers.DurableObject (from workers import DurableObject)"
        )


def _durable_object_names(module: ModuleType) -> list[str]:
    from ._shims.workers import DurableObject

    return sorted(
        name
        for name, value in vars(module).items()
        if isinstance(value, type)
        and issubclass(value, DurableObject)
        and value is not DurableObject
    )


def import_module_file(path: Path, reuse: ModuleType | None = None) -> ModuleType:
    """Import ``path`` under its own name with its folder importable, as the
    runtime imports the main module. A module of that name loaded from
    another file (another project's) is replaced."""
    folder = str(path.parent.resolve())
    name = path.stem
    loaded = sys.modules.get(name)
    loaded_from = getattr(loaded, "__file__", None)
    if loaded is not None and loaded_from and Path(loaded_from).resolve() == path.resolve():
        return loaded
    if folder in sys.path:
        sys.path.remove(folder)
    sys.path.insert(0, folder)
    if reuse is not None:
        sys.modules[name] = reuse
        return reuse
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"{path}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
