"""The project's wrangler configuration, read as wrangler reads it.

``find_config`` looks for ``wrangler.json``, ``wrangler.jsonc`` or
``wrangler.toml`` from a folder upwards; ``load_config`` parses one;
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
import traceback
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
    secrets: dict[str, str] = field(default_factory=dict)
    """From ``.dev.vars`` (or ``.dev.vars.<environment>``) beside the config."""
    unmodelled: dict[str, str] = field(default_factory=dict)
    """Bindings the simulator does not model: name -> kind."""
    environment: str | None = None


# wrangler's binding sections the simulator does not model, and their kind.
UNMODELLED_BINDINGS: Final = {
    "kv_namespaces": ("binding", "KV namespace"),
    "r2_buckets": ("binding", "R2 bucket"),
    "d1_databases": ("binding", "D1 database"),
    "services": ("binding", "service"),
    "vectorize": ("binding", "Vectorize index"),
    "hyperdrive": ("binding", "Hyperdrive"),
    "analytics_engine_datasets": ("binding", "Analytics Engine dataset"),
    "workflows": ("binding", "Workflow"),
    "send_email": ("name", "send_email"),
    "mtls_certificates": ("binding", "mTLS certificate"),
    "dispatch_namespaces": ("binding", "dispatch namespace"),
    "secrets_store_secrets": ("binding", "Secrets Store secret"),
    "ratelimits": ("name", "rate limiting"),
    "pipelines": ("binding", "Pipeline"),
    "worker_loaders": ("binding", "Worker Loader"),
    "vpc_services": ("binding", "VPC service"),
}
SINGLE_BINDINGS: Final = {
    "ai": "Workers AI", "browser": "Browser Rendering", "images": "Images",
    "media": "Media Transformations", "stream": "Stream",
    "version_metadata": "version metadata", "assets": "static assets",
}
# Keys an [env.NAME] section does not inherit from the top level (wrangler's
# notInheritable fields); ``assets``, like ``main`` and ``migrations``, is inherited.
NOT_INHERITED: Final = frozenset(
    {"vars", "define", "durable_objects", "queues", "tail_consumers", "unsafe",
     *UNMODELLED_BINDINGS, *(SINGLE_BINDINGS.keys() - {"assets"})}
)


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


def load_config(path: Path, environment: str | None = None) -> WranglerConfig:
    """Parse a wrangler config file, for one of its ``[env.NAME]``
    environments if ``environment`` is given."""
    if not path.is_file():
        raise ConfigError(f"{path}: no such wrangler configuration file")
    text = path.read_text(encoding="utf-8")
    raw = _parse_toml(path, text) if path.suffix == ".toml" else _parse_jsonc(path, text)
    if environment:
        raw = _environment(path, raw, environment)
    config = _read(path, raw)
    secrets = read_dev_vars(path.parent, environment)
    return WranglerConfig(
        **{**config.__dict__, "secrets": secrets, "environment": environment or None}
    )


def _environment(path: Path, raw: dict[str, Any], name: str) -> dict[str, Any]:
    """The configuration as wrangler sees it for ``--env NAME``."""
    environments = raw.get("env", {})
    if not isinstance(environments, dict) or name not in environments:
        known = ", ".join(sorted(environments)) if isinstance(environments, dict) else ""
        raise ConfigError(
            f"{path}: no environment {name!r} (env.{name}); the file defines "
            f"{known or 'no environments'}"
        )
    section = environments[name]
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: env.{name} must be a table")
    merged = {k: v for k, v in raw.items() if k != "env" and k not in NOT_INHERITED}
    if "name" in merged:
        # An environment is deployed as its own Worker, "<name>-<environment>".
        merged["name"] = f"{merged['name']}-{name}"
    merged.update(section)
    return merged


def read_dev_vars(folder: Path, environment: str | None = None) -> dict[str, str]:
    """Secrets from ``.dev.vars`` as ``wrangler dev`` reads them: dotenv
    syntax, and ``.dev.vars.<environment>`` instead when it exists."""
    path = folder / ".dev.vars"
    if environment and (folder / f".dev.vars.{environment}").is_file():
        path = folder / f".dev.vars.{environment}"
    if not path.is_file():
        return {}
    return _parse_dotenv(path, path.read_text(encoding="utf-8"))


# One assignment as the dotenv package (which wrangler uses) reads it: a quoted
# value may span lines; an unquoted one ends at '#'.
_DOTENV_LINE: Final = re.compile(
    r"[ \t]*(?:export[ \t]+)?([A-Za-z0-9_.-]+)(?:[ \t]*=[ \t]*|:[ \t]+)"
    r"""('(?:\\'|[^'])*'|"(?:\\"|[^"])*"|`(?:\\`|[^`])*`|[^#\n]*)"""
    r"[ \t]*(?:#[^\n]*)?(?:\n|\Z)"
)


def _parse_dotenv(path: Path, text: str) -> dict[str, str]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    values: dict[str, str] = {}
    position, number = 0, 1
    while position < len(text):
        end = text.find("\n", position)
        line = (text[position:] if end == -1 else text[position:end]).strip()
        if not line or line.startswith("#"):
            position = len(text) if end == -1 else end + 1
            number += 1
            continue
        match = _DOTENV_LINE.match(text, position)
        if match is None:
            raise ConfigError(f"{path}:{number}: expected NAME=value, got {line!r}")
        value = match.group(2).strip()
        quote = value[:1]
        if len(value) >= 2 and quote in "'\"`" and value.endswith(quote):
            value = value[1:-1]
            if quote == '"':
                value = value.replace("\\n", "\n").replace("\\r", "\r")
        values[match.group(1)] = value
        number += match.group(0).count("\n")
        position = match.end()
    return values


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
    if not (isinstance(flags, list) and all(isinstance(flag, str) for flag in flags)):
        raise ConfigError(
            f"{path}: 'compatibility_flags' must be a list of flag names, got {flags!r}"
        )
    variables = raw.get("vars", {})
    if not isinstance(variables, dict):
        raise ConfigError(f"{path}: 'vars' must be a table of names and values")
    sqlite = _sqlite_classes(path, raw.get("migrations", []) or [])
    unmodelled = _unmodelled_bindings(path, raw)
    return WranglerConfig(
        path=path,
        name=str(raw.get("name", path.parent.name)),
        main=(path.parent / main) if main else None,
        compatibility_date=str(date) if date is not None else None,
        compatibility_flags=tuple(flags),
        bindings=tuple(bindings),
        vars=dict(variables),
        sqlite_classes=frozenset(sqlite),
        unmodelled=unmodelled,
    )


def _sqlite_classes(path: Path, migrations: Any) -> set[str]:
    """The classes the migrations leave SQLite-backed: created in
    ``new_sqlite_classes``, followed through ``renamed_classes`` and
    ``deleted_classes``."""
    if not isinstance(migrations, list):
        raise ConfigError(f"{path}: 'migrations' must be a list of migrations")
    sqlite: set[str] = set()
    created: dict[str, str] = {}
    for index, migration in enumerate(migrations):
        if not isinstance(migration, dict):
            raise ConfigError(f"{path}: migrations[{index}] must be a table")
        for key in ("new_classes", "new_sqlite_classes"):
            for class_name in migration.get(key, []) or []:
                where = f"migrations[{index}].{key}"
                if class_name in created:
                    raise ConfigError(
                        f"{path}: class {class_name!r} is created twice, in "
                        f"{created[class_name]} and in {where}; a class is created by one "
                        "migration only"
                    )
                created[class_name] = where
                if key == "new_sqlite_classes":
                    sqlite.add(class_name)
        for rename in migration.get("renamed_classes", []) or []:
            if not isinstance(rename, dict):
                continue
            old, new = rename.get("from"), rename.get("to")
            if isinstance(old, str) and isinstance(new, str) and old in created:
                created[new] = created.pop(old)
                if old in sqlite:
                    sqlite.discard(old)
                    sqlite.add(new)
        for class_name in migration.get("deleted_classes", []) or []:
            created.pop(class_name, None)
            sqlite.discard(class_name)
    return sqlite


def _unmodelled_bindings(path: Path, raw: dict[str, Any]) -> dict[str, str]:
    found: dict[str, str] = {}
    for section, (key, kind) in UNMODELLED_BINDINGS.items():
        for entry in raw.get(section, []) or []:
            if isinstance(entry, dict) and isinstance(entry.get(key), str):
                found[entry[key]] = kind
    queues = raw.get("queues", {})
    if isinstance(queues, dict):
        for entry in queues.get("producers", []) or []:
            if isinstance(entry, dict) and isinstance(entry.get("binding"), str):
                found[entry["binding"]] = "Queue producer"
    for section, kind in SINGLE_BINDINGS.items():
        entry = raw.get(section)
        if isinstance(entry, dict) and isinstance(entry.get("binding"), str):
            found[entry["binding"]] = kind
    return found


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
        try:
            return import_module_file(main)
        except ConfigError:
            raise
        except Exception as exc:
            # One line that points into the Worker's code; the plugin's own
            # frames around the import would only hide it.
            raise ConfigError(
                f"{_raised_at(exc)}: {type(exc).__name__}: {exc} (importing {main.name}, "
                f"the 'main' of {self.config.path})"
            ) from exc

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


def _raised_at(exc: Exception) -> str:
    """``file:line`` where ``exc`` was raised, in the user's code."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return f"{exc.filename}:{exc.lineno}"
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith("<")]
    return f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "<unknown>"


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
    runtime imports the main module. Modules of the same names loaded from
    another project's folder (its ``entry``, its ``helpers``) are taken out
    of the way first, and this project's own come back in when it is used
    again, so that two projects in one run never share a module."""
    folder = path.parent.resolve()
    name = path.stem
    loaded = sys.modules.get(name)
    loaded_from = getattr(loaded, "__file__", None)
    if loaded is not None and loaded_from and Path(loaded_from).resolve() == path.resolve():
        return loaded
    if str(folder) in sys.path:
        sys.path.remove(str(folder))
    sys.path.insert(0, str(folder))
    _evict_other_projects(folder)
    if reuse is not None:
        sys.modules.update(_OWN_MODULES.get(folder, {}))
        sys.modules[name] = reuse
        return reuse
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"{path}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    before = set(sys.modules)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    # The project's own modules: those this import brought in from its folder,
    # never an installed library (a project may keep its .venv inside).
    _OWN_MODULES[folder] = {
        mod_name: sys.modules[mod_name]
        for mod_name in set(sys.modules) - before | {name}
        if _is_project_module(sys.modules[mod_name], folder)
    }
    return module


# The modules each project's folder contributed, kept to put back when the
# project is used again after another one.
_OWN_MODULES: dict[Path, dict[str, ModuleType]] = {}


def _is_project_module(module: ModuleType, folder: Path) -> bool:
    file = getattr(module, "__file__", None)
    if not file:
        return False
    path = Path(file).resolve()
    return path.is_relative_to(folder) and "site-packages" not in path.parts


def _evict_other_projects(folder: Path) -> None:
    for other, modules in _OWN_MODULES.items():
        if other == folder:
            continue
        for mod_name, mod in modules.items():
            if sys.modules.get(mod_name) is mod:
                del sys.modules[mod_name]
