"""pytest glue: options, markers and fixtures. The simulation itself lives in
the private modules and never imports pytest."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ._clock import CLOCK_MODES, Clock, ClockMode
from ._compat import Compat
from ._config import ConfigError, Project, check_durable_object, find_config, load_config
from ._shims import install as install_shims
from ._simulation import EnvWrapper, Simulation
from ._namespace import NamespaceWrapper

MARKER_KEYWORDS = ("cls", "binding")

_projects: dict[Path, Project] = {}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("durable", "Durable Objects simulation (pytest-durable)")
    group.addoption(
        "--durable-clock",
        choices=CLOCK_MODES,
        default=None,
        help="the simulation clock: 'fake' (virtual time, the default) or 'real'",
    )
    group.addoption(
        "--durable-config",
        default=None,
        metavar="PATH",
        help="the wrangler configuration to use instead of the nearest one",
    )
    parser.addini("durable_clock", "the simulation clock: fake (default) or real", default="fake")
    parser.addini(
        "durable_config",
        "the wrangler configuration to use instead of the nearest one to each test",
        default="",
    )
    parser.addini(
        "durable_binding",
        "the Durable Object binding durable_ns gives when the configuration has several",
        default="",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "durable_object(cls=None, *, binding=None): the Durable Object class or binding a "
        "test's durable_ns gives (pytest-durable)",
    )
    mode = config.getoption("durable_clock") or config.getini("durable_clock")
    if mode not in CLOCK_MODES:
        raise pytest.UsageError(
            f"durable_clock = {mode!r} is not a clock mode: use one of {', '.join(CLOCK_MODES)}"
        )
    install_shims()


@pytest.fixture
def durable_simulation(request: pytest.FixtureRequest) -> Iterator[Simulation]:
    """The test's simulation: its clock, namespaces and objects."""
    simulation = _build_simulation(request)
    with simulation:
        yield simulation
    simulation.cancel_pending()


@pytest.fixture
def durable_env(durable_simulation: Simulation) -> EnvWrapper:
    """``env`` as the Worker sees it: every binding, as ``env.NAME``."""
    return durable_simulation.env


@pytest.fixture
def durable_ns(request: pytest.FixtureRequest, durable_simulation: Simulation) -> NamespaceWrapper:
    """The namespace of the test's Durable Object class."""
    binding = _choose_binding(request, durable_simulation)
    return durable_simulation.namespace(binding)


# -- building a simulation ---------------------------------------------------------


def _marker_args(request: pytest.FixtureRequest) -> dict[str, Any]:
    marker = request.node.get_closest_marker("durable_object")
    if marker is None:
        return {}
    if len(marker.args) > 1:
        _fail(
            request,
            f"@pytest.mark.durable_object takes one positional argument (the class), "
            f"got {len(marker.args)}",
        )
    unknown = sorted(set(marker.kwargs) - set(MARKER_KEYWORDS))
    if unknown:
        _fail(
            request,
            f"@pytest.mark.durable_object got unknown keyword(s) {', '.join(unknown)}; "
            f"it takes {', '.join(MARKER_KEYWORDS)}",
        )
    args = dict(marker.kwargs)
    if marker.args:
        if "cls" in args:
            _fail(request, "@pytest.mark.durable_object got the class twice (positional and cls=)")
        args["cls"] = marker.args[0]
    binding = args.get("binding")
    if binding is not None and not isinstance(binding, str):
        _fail(request, f"@pytest.mark.durable_object(binding={binding!r}): binding must be a str")
    return args


def _project_for(request: pytest.FixtureRequest) -> Project | None:
    config = request.config
    named = config.getoption("durable_config") or config.getini("durable_config")
    if named:
        path = Path(named)
        if not path.is_absolute():
            base = Path.cwd() if config.getoption("durable_config") else config.rootpath
            path = base / path
    else:
        found = find_config(Path(request.node.path), stop=config.rootpath)
        if found is None:
            return None
        path = found
    path = path.resolve()
    project = _projects.get(path)
    if project is None:
        try:
            project = _projects[path] = Project(load_config(path))
        except ConfigError as exc:
            _fail(request, str(exc))
    return project


def _build_simulation(request: pytest.FixtureRequest) -> Simulation:
    marker = _marker_args(request)
    project = _project_for(request)
    mode: ClockMode = request.config.getoption("durable_clock") or request.config.getini(
        "durable_clock"
    )
    if project is not None:
        cfg = project.config
        try:
            compat = Compat(cfg.compatibility_date or Compat().date, cfg.compatibility_flags)
        except ValueError as exc:
            _fail(request, f"{cfg.path}: {exc}")
        simulation = Simulation(
            clock=Clock(mode), compat=compat, vars=cfg.vars, script_name=cfg.name
        )
        for binding in cfg.bindings:
            try:
                cls = project.resolve(binding)
            except ConfigError as exc:
                _fail(request, str(exc))
            simulation.add_namespace(binding.name, cls, class_name=binding.class_name)
    else:
        simulation = Simulation(clock=Clock(mode))
    cls = marker.get("cls")
    if cls is not None:
        try:
            check_durable_object(cls, f"@pytest.mark.durable_object names {cls!r}")
        except ConfigError as exc:
            _fail(request, str(exc))
        bound = [b for b, ns in simulation.namespaces.items() if ns.cls is cls]
        if not bound:
            binding = marker.get("binding") or cls.__name__
            if binding in simulation.namespaces:
                _fail(
                    request,
                    f"@pytest.mark.durable_object: binding {binding!r} is already bound to "
                    f"{simulation.namespaces[binding].cls.__qualname__}; choose another binding",
                )
            simulation.add_namespace(binding, cls)
    return simulation


def _choose_binding(request: pytest.FixtureRequest, simulation: Simulation) -> str:
    marker = _marker_args(request)
    bindings = simulation.namespaces
    wanted = marker.get("binding") or request.config.getini("durable_binding") or None
    cls = marker.get("cls")
    if cls is not None and wanted is None:
        wanted = next(b for b, ns in bindings.items() if ns.cls is cls)
    if wanted is not None:
        if wanted not in bindings:
            known = ", ".join(sorted(bindings)) or "none"
            _fail(
                request,
                f"no Durable Object binding named {wanted!r} (bindings: {known}); name one "
                "in durable_objects.bindings of the wrangler config or in "
                "@pytest.mark.durable_object(binding=...)",
            )
        return str(wanted)
    if len(bindings) == 1:
        return next(iter(bindings))
    if not bindings:
        _fail(
            request,
            "durable_ns has no Durable Object class: add a wrangler config with "
            "durable_objects.bindings next to the tests, or mark the test with "
            "@pytest.mark.durable_object(MyObject)",
        )
    _fail(
        request,
        f"durable_ns is ambiguous: the configuration binds {', '.join(sorted(bindings))}; "
        "choose one with @pytest.mark.durable_object(binding=...) or the durable_binding "
        "ini option",
    )


def _fail(request: pytest.FixtureRequest, message: str) -> Any:
    pytest.fail(f"pytest-durable: {message}", pytrace=False)
