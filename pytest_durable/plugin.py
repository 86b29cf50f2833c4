"""pytest glue: options, markers and fixtures. The simulation itself lives in
the private modules and never imports pytest."""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import httpx
import pytest

from ._clock import CLOCK_MODES, Clock, ClockMode
from ._compat import FLAGS, Compat
from ._config import ConfigError, Project, check_durable_object, find_config, load_config
from ._loop import DurableEventLoop
from ._namespace import NamespaceWrapper
from ._shims import install as install_shims
from ._simulation import EnvWrapper, Simulation
from ._timecontrol import TimeControl
from ._worker import BASE_URL, WorkerFixture, find_entrypoint

MARKER_KEYWORDS = ("cls", "binding", "sqlite")
CLOCK_MARKER_KEYWORDS = ("mode", "start", "jitter", "seed", "leftovers")
LEFTOVER_POLICIES = ("warn", "fail", "ignore")


class DurableLeftoverWarning(UserWarning):
    """Left at the end of a test: alarms still pending or dropped after
    failing, and WebSocket handler errors the test did not clear."""

_projects_key = pytest.StashKey[dict[Path, Project]]()
"""The projects (wrangler configs with their main modules) of this run."""


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
    group.addoption(
        "--durable-env",
        default=None,
        metavar="NAME",
        help="use the [env.NAME] section of the wrangler configuration, as wrangler --env does",
    )
    group.addoption(
        "--durable-sqlite-dir",
        default=None,
        metavar="DIR",
        help="keep each SQLite-backed object's database as a file under DIR/<test>/",
    )
    parser.addini("durable_clock", "the simulation clock: fake (default) or real", default="fake")
    parser.addini(
        "durable_environment",
        "the [env.NAME] section of the wrangler configuration to use (like wrangler --env)",
        default="",
    )
    parser.addini(
        "durable_sqlite_dir",
        "keep each SQLite-backed object's database as a file under this folder/<test>/",
        default="",
    )
    parser.addini(
        "durable_config",
        "the wrangler configuration to use instead of the nearest one to each test",
        default="",
    )
    parser.addini(
        "durable_leftovers",
        "what to do with alarms pending or dropped, and WebSocket handler errors, at the end "
        "of a test: warn (default), fail or ignore",
        default="warn",
    )
    parser.addini(
        "durable_clock_jitter",
        "add production-like random extra (up to 25%) to alarm retry delays: false (default) "
        "or true",
        type="bool",
        default=False,
    )
    parser.addini(
        "durable_clock_seed",
        "the seed of the alarm retry jitter, so that jittered schedules repeat",
        default="",
    )
    parser.addini(
        "durable_idle_timeout",
        "real seconds the fake clock waits for I/O when nothing else can happen before it "
        "fails the test as stuck (default 10)",
        default="10",
    )
    parser.addini(
        "durable_binding",
        "the Durable Object binding durable_ns gives when the configuration has several",
        default="",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "durable_object(cls=None, *, binding=None, sqlite=False): the Durable Object class or "
        "binding a test's durable_ns gives, and whether a marked class is SQLite-backed "
        "(pytest-durable)",
    )
    config.addinivalue_line(
        "markers",
        "durable_clock(mode=None, *, start=None, jitter=False, seed=None, leftovers=None): "
        "the test's clock "
        "(pytest-durable)",
    )
    policy = config.getini("durable_leftovers")
    if policy not in LEFTOVER_POLICIES:
        raise pytest.UsageError(
            f"durable_leftovers = {policy!r}: use one of {', '.join(LEFTOVER_POLICIES)}"
        )
    mode = config.getoption("durable_clock") or config.getini("durable_clock")
    if mode not in CLOCK_MODES:
        raise pytest.UsageError(
            f"durable_clock = {mode!r} is not a clock mode: use one of {', '.join(CLOCK_MODES)}"
        )
    _idle_timeout(config)
    install_shims()


def _idle_timeout(config: pytest.Config) -> float:
    value = config.getini("durable_idle_timeout")
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise pytest.UsageError(
            f"durable_idle_timeout = {value!r}: give a positive number of seconds"
        )
    return seconds


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Say in the run's header what was simulated, so a CI log shows it."""
    mode = config.getoption("durable_clock") or config.getini("durable_clock")
    path = _named_config(config) or find_config(config.rootpath, stop=config.rootpath)
    environment = config.getoption("durable_env") or config.getini("durable_environment")
    unmodelled: tuple[str, ...] = ()
    if path is None:
        where = "nearest wrangler config of each test"
        date = "per config"
    else:
        where = str(path)
        try:
            config_file = load_config(path, environment or None)
            date = config_file.compatibility_date or Compat().date
            unmodelled = Compat(date, config_file.compatibility_flags).unmodelled
        except (ConfigError, ValueError) as exc:
            date, unmodelled = f"unreadable ({exc})", ()
    env = f", environment {environment}" if environment else ""
    line = f"durable: config {where}{env}, compatibility_date {date}, clock {mode}"
    if unmodelled:
        line += f"; flags not modelled (no effect here): {', '.join(unmodelled)}"
    return [line]


@pytest.fixture
def durable_simulation(
    request: pytest.FixtureRequest, durable_fetch_transport: httpx.AsyncBaseTransport | None
) -> Iterator[Simulation]:
    """The test's simulation: its clock, namespaces and objects."""
    simulation = _build_simulation(request)
    simulation.fetch_transport = durable_fetch_transport
    with simulation:
        yield simulation
        leftovers = simulation.leftovers()
        # While the simulation is still active: cancelled work may still read
        # the clock or its database on the way out.
        simulation.cancel_pending()
    if simulation.blocked_fetches:
        urls = "\n".join(f"- {url}" for url in simulation.blocked_fetches)
        pytest.fail(
            "pytest-durable: outbound fetch() was blocked (tests never reach the network):\n"
            f"{urls}\nMock these with respx or pytest-httpx, or override the "
            "durable_fetch_transport fixture; a test that expects the block can clear "
            "durable_simulation.blocked_fetches.",
            pytrace=False,
        )
    _report_leftovers(request, leftovers)


@pytest.fixture
def durable_fetch_transport() -> httpx.AsyncBaseTransport | None:
    """The httpx transport for outbound fetch() from Worker code. None (the
    default) blocks every request that respx or pytest-httpx does not mock;
    override this fixture to return, say, ``httpx.MockTransport(handler)``."""
    return None


@pytest.fixture
def durable_worker(request: pytest.FixtureRequest, durable_simulation: Simulation) -> WorkerFixture:
    """The Worker's default entrypoint, called as a client would call it."""
    if durable_simulation.worker is None:
        _fail(request, _no_worker(_project_for(request), durable_simulation.compat))
    return WorkerFixture(durable_simulation.worker)


@pytest.fixture
def durable_client(durable_worker: WorkerFixture) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` whose requests reach the Worker
    (``await durable_client.get("/path")``). Its transport holds no
    connections, so there is nothing to close."""
    return httpx.AsyncClient(transport=durable_worker.transport(), base_url=BASE_URL)


@pytest.fixture
def durable_clock(durable_simulation: Simulation) -> TimeControl:
    """The test's clock: advance it, move it, run alarms, read their history."""
    return TimeControl(durable_simulation)


@pytest.hookimpl(optionalhook=True)
def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> dict[str, Any]:
    """Run async tests on the loop that follows the simulation's clock (a
    plain selector loop whenever no fake clock is active)."""
    return {"durable": DurableEventLoop}


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


def pytest_collectstart(collector: pytest.Collector) -> None:
    """Before a test module is imported, make its project's main module
    importable, so that ``from entry import MyObject`` in a test works."""
    if isinstance(collector, pytest.Module):
        # A ConfigError is reported, with the file and key, by the fixture that needs it.
        with contextlib.suppress(ConfigError):
            _project_at(collector.config, Path(collector.path))


def _named_config(config: pytest.Config) -> Path | None:
    """The config --durable-config or the durable_config ini option names:
    relative to where pytest was started, or to the rootdir."""
    named = config.getoption("durable_config") or config.getini("durable_config")
    if not named:
        return None
    base = config.invocation_params.dir if config.getoption("durable_config") else config.rootpath
    return base / str(named)


def _project_at(config: pytest.Config, test_path: Path) -> Project | None:
    path = _named_config(config) or find_config(test_path, stop=config.rootpath)
    if path is None:
        return None
    path = path.resolve()
    environment = config.getoption("durable_env") or config.getini("durable_environment") or None
    projects = config.stash.setdefault(_projects_key, {})
    project = projects.get(path)
    if project is None:
        project = projects[path] = Project(load_config(path, environment))
    elif project.module is not None:
        project.activate()
    return project


def _project_for(request: pytest.FixtureRequest) -> Project | None:
    try:
        return _project_at(request.config, Path(request.node.path))
    except ConfigError as exc:
        _fail(request, str(exc))


def _build_simulation(request: pytest.FixtureRequest) -> Simulation:
    marker = _marker_args(request)
    project = _project_for(request)
    clock = _build_clock(request)
    persist_dir = _sqlite_dir(request)
    if project is not None:
        cfg = project.config
        try:
            compat = Compat(cfg.compatibility_date or Compat().date, cfg.compatibility_flags)
        except ValueError as exc:
            _fail(request, f"{cfg.path}: {exc}")
        today = datetime.date.today().isoformat()
        if compat.date > today:
            _fail(
                request,
                f"{cfg.path}: compatibility_date {compat.date} is in the future; the runtime "
                f"refuses a date later than today ({today})",
            )
        simulation = Simulation(
            clock=clock,
            compat=compat,
            vars={**cfg.vars, **cfg.secrets},
            script_name=cfg.name,
            unmodelled=cfg.unmodelled,
        )
        module = project.module
        entrypoint = find_entrypoint(module, compat) if module is not None else None
        if entrypoint is not None:
            simulation.set_worker(entrypoint)
        for binding in cfg.bindings:
            try:
                cls = project.resolve(binding)
            except ConfigError as exc:
                _fail(request, str(exc))
            simulation.add_namespace(
                binding.name, cls, class_name=binding.class_name,
                sqlite=binding.class_name in cfg.sqlite_classes,
                persist_dir=persist_dir,
            )
    else:
        simulation = Simulation(clock=clock)
    marked = marker.get("cls")
    if marked is not None:
        try:
            check_durable_object(marked, f"@pytest.mark.durable_object names {marked!r}")
        except ConfigError as exc:
            _fail(request, str(exc))
        bound = [b for b, ns in simulation.namespaces.items() if ns.cls is marked]
        if not bound:
            name = marker.get("binding") or marked.__name__
            if name in simulation.namespaces:
                _fail(
                    request,
                    f"@pytest.mark.durable_object: binding {name!r} is already bound to "
                    f"{simulation.namespaces[name].cls.__qualname__}; choose another binding",
                )
            simulation.add_namespace(
                name, marked, sqlite=bool(marker.get("sqlite")), persist_dir=persist_dir
            )
    wanted = marker.get("binding")
    if wanted and wanted not in simulation.namespaces:
        _fail(request, _no_such_binding(wanted, simulation.namespaces))
    return simulation


def _sqlite_dir(request: pytest.FixtureRequest) -> Path | None:
    """Where this test's SQLite databases go, when persistence is asked for."""
    config = request.config
    folder = config.getoption("durable_sqlite_dir") or config.getini("durable_sqlite_dir")
    if not folder:
        return None
    base = Path(folder)
    if not base.is_absolute():
        started = config.invocation_params.dir
        base = (started if config.getoption("durable_sqlite_dir") else config.rootpath) / base
    nodeid = request.node.nodeid
    test = "".join(c if c.isalnum() or c in "-_." else "_" for c in nodeid)
    # Two test ids can read the same once sanitized ("a/b" and "a_b"): a short
    # hash of the real id keeps their folders apart.
    digest = hashlib.sha256(nodeid.encode()).hexdigest()[:8]
    return base / f"{test}-{digest}"


def _build_clock(request: pytest.FixtureRequest) -> Clock:
    config = request.config
    mode: ClockMode = config.getoption("durable_clock") or config.getini("durable_clock")
    jitter = bool(config.getini("durable_clock_jitter"))
    seed: int | str | None = config.getini("durable_clock_seed") or None
    start = None
    marker = request.node.get_closest_marker("durable_clock")
    if marker is not None:
        unknown = sorted(set(marker.kwargs) - set(CLOCK_MARKER_KEYWORDS))
        if unknown or len(marker.args) > 1:
            _fail(
                request,
                f"@pytest.mark.durable_clock takes mode and the keywords start, jitter, seed, "
                f"leftovers; "
                f"got {', '.join(unknown) or f'{len(marker.args)} positional arguments'}",
            )
        kwargs = dict(marker.kwargs)
        if marker.args:
            kwargs["mode"] = marker.args[0]
        mode = kwargs.get("mode") or mode
        jitter = bool(kwargs.get("jitter", jitter))
        leftovers = kwargs.get("leftovers")
        if leftovers is not None and leftovers not in LEFTOVER_POLICIES:
            _fail(
                request,
                f"@pytest.mark.durable_clock(leftovers={leftovers!r}): use one of "
                f"{', '.join(LEFTOVER_POLICIES)}",
            )
        start = kwargs.get("start")
        seed = kwargs.get("seed", seed)
    if mode not in CLOCK_MODES:
        _fail(request, f"@pytest.mark.durable_clock({mode!r}): use one of {', '.join(CLOCK_MODES)}")
    try:
        return Clock(mode, start, jitter=jitter, seed=seed, idle_timeout=_idle_timeout(config))
    except (TypeError, ValueError) as exc:
        _fail(request, f"@pytest.mark.durable_clock: {exc}")


def _report_leftovers(request: pytest.FixtureRequest, leftovers: list[str]) -> None:
    policy = request.config.getini("durable_leftovers")
    marker = request.node.get_closest_marker("durable_clock")
    if marker is not None and marker.kwargs.get("leftovers") is not None:
        policy = marker.kwargs["leftovers"]  # checked when the clock was built
    if not leftovers or policy == "ignore":
        return
    message = (
        "pytest-durable: left at the end of the test:\n"
        + "\n".join(f"- {line}" for line in leftovers)
        + "\n(run alarms with durable_clock.run_until_idle() or delete them with deleteAlarm(); "
        "clear handler_calls(stub).errors once checked; or allow leftovers with "
        "durable_leftovers = ignore, or @pytest.mark.durable_clock(leftovers=...) for one test)"
    )
    if policy == "fail":
        pytest.fail(message, pytrace=False)
    warnings.warn(DurableLeftoverWarning(message), stacklevel=1)


def _choose_binding(request: pytest.FixtureRequest, simulation: Simulation) -> str:
    marker = _marker_args(request)
    bindings = simulation.namespaces
    # The nearest choice wins: the marker's binding or class, then the ini option.
    wanted = marker.get("binding") or None
    cls = marker.get("cls")
    if cls is not None and wanted is None:
        wanted = next(b for b, ns in bindings.items() if ns.cls is cls)
    if wanted is None:
        wanted = request.config.getini("durable_binding") or None
    if wanted is not None:
        if wanted not in bindings:
            _fail(request, _no_such_binding(wanted, bindings))
        return str(wanted)
    if len(bindings) == 1:
        return next(iter(bindings))
    if not bindings:
        _fail(
            request,
            "durable_ns has no Durable Object class: add a wrangler config with "
            "durable_objects.bindings next to the tests, or mark the test with "
            "@pytest.mark.durable_object(cls=MyObject)",
        )
    _fail(
        request,
        f"durable_ns is ambiguous: the configuration binds {', '.join(sorted(bindings))}; "
        "choose one with @pytest.mark.durable_object(binding=...) or the durable_binding "
        "ini option",
    )


def _no_worker(project: Project | None, compat: Compat) -> str:
    """Why durable_worker has no Worker to call, and what to do about it."""
    if project is None:
        return (
            "durable_worker needs a Worker, but no wrangler config was found for this test: "
            "add a wrangler.toml (or wrangler.json, wrangler.jsonc) whose 'main' is the "
            "Worker's module, or name one with --durable-config"
        )
    if project.module is None:
        return (
            f"durable_worker needs a Worker, but {project.config.path} has no 'main': set it "
            "to the Worker's Python module"
        )
    main = project.config.main
    if hasattr(project.module, "Default"):
        return (
            f"durable_worker: {main} defines Default, but not as a WorkerEntrypoint "
            "subclass: write class Default(WorkerEntrypoint) (from workers import "
            "WorkerEntrypoint)"
        )
    if callable(getattr(project.module, "on_fetch", None)):
        flag = next(f for f in FLAGS if f.name == "python_no_global_handlers")
        return (
            f"durable_worker: {main} defines a module-level on_fetch, which the runtime "
            f"does not call from compatibility_date {flag.date} ({flag.name}; this project's "
            f"date is {compat.date}): define class Default(WorkerEntrypoint) with a fetch "
            f"method, or add the compatibility flag {flag.disable}"
        )
    return (
        f"durable_worker needs a Worker entrypoint: {main} defines no WorkerEntrypoint "
        "subclass named Default"
        + ("" if compat["python_no_global_handlers"] else " and no on_fetch function")
    )


def _no_such_binding(wanted: str, bindings: Iterable[str]) -> str:
    known = ", ".join(sorted(bindings)) or "none"
    return (
        f"no Durable Object binding named {wanted!r} (bindings: {known}); name one "
        "in durable_objects.bindings of the wrangler config or in "
        "@pytest.mark.durable_object(binding=...)"
    )


def _fail(request: pytest.FixtureRequest, message: str) -> NoReturn:
    # ``from None``: the ConfigError being reported says it all; chaining it
    # would print it twice, with the plugin's frames in between.
    raise pytest.fail.Exception(f"pytest-durable: {message}", pytrace=False) from None
