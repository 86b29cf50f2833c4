"""The wrangler configuration, read as wrangler reads it: the three file
formats, vars and .dev.vars secrets, [env.NAME] environments, compatibility
dates and flags, bindings the simulator does not model, and the errors.

Projects are written with ``pytester`` and run in a subprocess (the plugin
imports each project's main module by name); the parsing details are checked
on ``load_config`` directly."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from pytester_helpers import literally, run

from pytest_durable._compat import DEFAULT_COMPATIBILITY_DATE, FLAGS
from pytest_durable._config import ConfigError, load_config

INI = """
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
filterwarnings = error
"""

ENTRY = """
from js import Date
from workers import DurableObject, Response, WorkerEntrypoint



class Counter(DurableObject):
    async def increment(self):
        count = (await self.ctx.storage.get("count") or 0) + 1
        await self.ctx.storage.put("count", count)
        return count

    def backend(self):
        try:
            self.ctx.storage.sql
        except Exception:
            return "kv"
        return "sqlite"

    def greeting(self):
        return self.env.GREETING

    async def delete_all_with_an_alarm(self):
        storage = self.ctx.storage
        await storage.put("count", 1)
        await storage.setAlarm(Date.now() + 60_000)
        await storage.deleteAll()
        left = {"count": await storage.get("count"), "alarm": await storage.getAlarm()}
        await storage.deleteAlarm()
        return {**left, "alarm": None if left["alarm"] is None else left["alarm"] - Date.now()}

    async def alarm(self):
        pass


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        return Response(self.env.GREETING)
"""

TOML = """
name = "shop"
main = "src/entry.py"
compatibility_date = "2026-04-01"
compatibility_flags = ["python_workers"]

[vars]
GREETING = "hello"

[[durable_objects.bindings]]
name = "COUNTER"
class_name = "Counter"

[[migrations]]
tag = "v1"
new_sqlite_classes = ["Counter"]
"""

JSON = """
{
  "name": "shop",
  "main": "src/entry.py",
  "compatibility_date": "2026-04-01",
  "compatibility_flags": ["python_workers"],
  "vars": {"GREETING": "hello"},
  "durable_objects": {"bindings": [{"name": "COUNTER", "class_name": "Counter"}]},
  "migrations": [{"tag": "v1", "new_sqlite_classes": ["Counter"]}]
}
"""

JSONC = """
// The shop Worker, as wrangler.jsonc.
{
  "name": "shop", /* the Worker's name */
  "main": "src/entry.py",
  "compatibility_date": "2026-04-01",
  "compatibility_flags": ["python_workers",],
  "vars": {"GREETING": "hello",}, // a trailing comma
  "durable_objects": {
    "bindings": [
      {"name": "COUNTER", "class_name": "Counter"}, // another
    ],
  },
  "migrations": [{"tag": "v1", "new_sqlite_classes": ["Counter"]},],
}
"""


def write_project(
    pytester: pytest.Pytester, config: str = TOML, name: str = "wrangler.toml"
) -> None:
    pytester.makeini(INI)
    pytester.path.joinpath(name).write_text(textwrap.dedent(config), encoding="utf-8")
    pytester.mkdir("src")
    pytester.path.joinpath("src", "entry.py").write_text(ENTRY, encoding="utf-8")


def assert_one_error(result: pytest.RunResult, message: str) -> None:
    """The run's one error is reported as ``message`` alone."""
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["_* ERROR at setup of test_* _*", literally(f"pytest-durable: {message}")],
        consecutive=True,
    )
    assert "Traceback" not in result.stdout.str()


# -- the three formats ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "config"),
    [("wrangler.toml", TOML), ("wrangler.json", JSON), ("wrangler.jsonc", JSONC)],
)
def test_every_format_reads_the_same(pytester: pytest.Pytester, name: str, config: str) -> None:
    write_project(pytester, config, name)
    pytester.makepyfile(
        test_shop="""
        async def test_shop(durable_env, durable_simulation, durable_worker):
            counter = durable_env.COUNTER.getByName("a")
            assert await counter.increment() == 1
            assert await counter.backend() == "sqlite"
            assert await counter.greeting() == "hello"
            assert durable_env.GREETING == "hello"
            assert durable_simulation.script_name == "shop"
            assert durable_simulation.compat.date == "2026-04-01"
            assert durable_simulation.compat.flags == ("python_workers",)
            assert await (await durable_worker.fetch("/")).text() == "hello"
        """
    )
    run(pytester).assert_outcomes(passed=1)


def test_the_formats_give_one_configuration(tmp_path: Path) -> None:
    configs = []
    for name, text in [("wrangler.toml", TOML), ("wrangler.json", JSON), ("x.jsonc", JSONC)]:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        configs.append({**load_config(path).__dict__, "path": None})

    assert configs[0] == configs[1] == configs[2]


# -- vars and secrets ----------------------------------------------------------------


def test_vars_of_each_json_type(pytester: pytest.Pytester) -> None:
    write_project(
        pytester,
        TOML.replace(
            'GREETING = "hello"',
            'GREETING = "hello"\nRETRIES = 3\nRATIO = 0.25\nDEBUG = true\n'
            'REGIONS = ["weur", "enam"]\nLIMITS = { burst = 10, window = "1m" }',
        ),
    )
    pytester.makepyfile(
        test_vars="""
        from pyodide.ffi import JsProxy


        def test_vars(durable_env):
            assert durable_env.GREETING == "hello" and type(durable_env.GREETING) is str
            assert durable_env.RETRIES == 3 and type(durable_env.RETRIES) is int
            assert durable_env.RATIO == 0.25 and type(durable_env.RATIO) is float
            assert durable_env.DEBUG is True

            limits = durable_env.LIMITS
            assert isinstance(limits, JsProxy)
            assert (limits.burst, limits.window) == (10, "1m")
            assert limits.to_py() == {"burst": 10, "window": "1m"}

            regions = durable_env.REGIONS
            assert isinstance(regions, JsProxy)
            assert (regions[0], regions.length) == ("weur", 2)
            assert regions.to_py() == ["weur", "enam"]
        """
    )
    run(pytester).assert_outcomes(passed=1)


DEV_VARS = """\
# Secrets for local development.
API_KEY="dev-key-123"
export TOKEN='single # quoted'
PLAIN = unquoted value # a comment
MULTI="first\\nsecond"
GREETING=from .dev.vars
"""


def test_dev_vars_secrets_reach_env(pytester: pytest.Pytester) -> None:
    write_project(pytester)
    pytester.path.joinpath(".dev.vars").write_text(DEV_VARS, encoding="utf-8")
    pytester.makepyfile(
        test_secrets="""
        async def test_secrets(durable_env):
            assert durable_env.API_KEY == "dev-key-123"
            assert durable_env.TOKEN == "single # quoted"
            assert durable_env.PLAIN == "unquoted value"
            assert durable_env.MULTI == "first\\nsecond"
            # A secret wins over a var of the same name, as in wrangler dev.
            assert durable_env.GREETING == "from .dev.vars"
            assert await durable_env.COUNTER.getByName("a").greeting() == "from .dev.vars"
        """
    )
    run(pytester).assert_outcomes(passed=1)


def test_dev_vars_in_dotenv_syntax(tmp_path: Path) -> None:
    (tmp_path / "wrangler.toml").write_text('name = "x"\n', encoding="utf-8")
    (tmp_path / ".dev.vars").write_text(
        DEV_VARS
        + "HASH=abc#def\n"
        + "SPANS=\"one\ntwo\"\n"
        + "COLON: value\n"
        + "EMPTY=\n"
        + "TICKS=`back ticks`\n"
        + "AFTER='quoted' # and a comment\n",
        encoding="utf-8",
    )

    assert load_config(tmp_path / "wrangler.toml").secrets == {
        "API_KEY": "dev-key-123",
        "TOKEN": "single # quoted",
        "PLAIN": "unquoted value",
        "MULTI": "first\nsecond",
        "GREETING": "from .dev.vars",
        "HASH": "abc",
        "SPANS": "one\ntwo",
        "COLON": "value",
        "EMPTY": "",
        "TICKS": "back ticks",
        "AFTER": "quoted",
    }


def test_a_dev_vars_line_that_is_not_an_assignment(tmp_path: Path) -> None:
    (tmp_path / "wrangler.toml").write_text('name = "x"\n', encoding="utf-8")
    (tmp_path / ".dev.vars").write_text('A=1\nB="two\nlines"\n\nnot one\n', encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "wrangler.toml")

    assert str(caught.value) == f"{tmp_path}/.dev.vars:5: expected NAME=value, got 'not one'"


# -- environments ---------------------------------------------------------------------

STAGING = """
name = "shop"
main = "src/entry.py"
compatibility_date = "2026-04-01"

[vars]
GREETING = "hello"
ONLY_AT_THE_TOP = "x"

[[durable_objects.bindings]]
name = "COUNTER"
class_name = "Counter"

[[migrations]]
tag = "v1"
new_sqlite_classes = ["Counter"]

[env.staging]
[env.staging.vars]
GREETING = "hello from staging"

[[env.staging.durable_objects.bindings]]
name = "STAGED_COUNTER"
class_name = "Counter"

[env.test]
name = "shop-for-tests"
"""

IN_STAGING = """
import pytest


async def test_staging(durable_env, durable_simulation):
    assert durable_simulation.script_name == "shop-staging"
    assert durable_simulation.compat.date == "2026-04-01"  # inherited
    assert durable_env.GREETING == "hello from staging"
    assert sorted(durable_simulation.namespaces) == ["STAGED_COUNTER"]
    assert await durable_env.STAGED_COUNTER.getByName("a").backend() == "sqlite"
    with pytest.raises(AttributeError):
        durable_env.ONLY_AT_THE_TOP  # vars are not inherited
    assert durable_env.API_KEY == "staging-key"
"""


def write_staging(pytester: pytest.Pytester) -> None:
    write_project(pytester, STAGING)
    pytester.path.joinpath(".dev.vars").write_text("API_KEY=dev-key\n", encoding="utf-8")
    pytester.path.joinpath(".dev.vars.staging").write_text(
        "API_KEY=staging-key\n", encoding="utf-8"
    )
    pytester.makepyfile(test_staging=IN_STAGING)


def test_durable_env_option(pytester: pytest.Pytester) -> None:
    write_staging(pytester)

    run(pytester, "--durable-env", "staging").assert_outcomes(passed=1)


def test_durable_environment_ini_option(pytester: pytest.Pytester) -> None:
    write_staging(pytester)
    pytester.makeini(INI + "durable_environment = staging\n")

    run(pytester).assert_outcomes(passed=1)


def test_an_environment_with_its_own_name(tmp_path: Path) -> None:
    (tmp_path / "wrangler.toml").write_text(STAGING, encoding="utf-8")

    config = load_config(tmp_path / "wrangler.toml", "test")

    assert (config.name, config.environment, config.vars, config.bindings) == (
        "shop-for-tests",
        "test",
        {},
        (),
    )
    assert config.main == tmp_path / "src" / "entry.py"
    assert config.sqlite_classes == {"Counter"}


def test_without_an_environment_the_top_level_is_used(tmp_path: Path) -> None:
    (tmp_path / "wrangler.toml").write_text(STAGING, encoding="utf-8")
    (tmp_path / ".dev.vars").write_text("API_KEY=dev-key\n", encoding="utf-8")
    (tmp_path / ".dev.vars.staging").write_text("API_KEY=staging-key\n", encoding="utf-8")

    config = load_config(tmp_path / "wrangler.toml")

    assert (config.name, config.environment) == ("shop", None)
    assert config.vars == {"GREETING": "hello", "ONLY_AT_THE_TOP": "x"}
    assert [b.name for b in config.bindings] == ["COUNTER"]
    assert config.secrets == {"API_KEY": "dev-key"}


def test_an_unknown_environment(pytester: pytest.Pytester) -> None:
    write_staging(pytester)

    assert_one_error(
        run(pytester, "--durable-env", "prod"),
        f"{pytester.path}/wrangler.toml: no environment 'prod' (env.prod); the file defines "
        "staging, test",
    )


def test_an_environment_in_a_file_without_any(tmp_path: Path) -> None:
    (tmp_path / "wrangler.toml").write_text(TOML, encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "wrangler.toml", "staging")

    assert str(caught.value) == (
        f"{tmp_path}/wrangler.toml: no environment 'staging' (env.staging); the file defines "
        "no environments"
    )


# -- compatibility date and flags ---------------------------------------------------------

LEGACY_ENTRY = """
from workers import DurableObject, Response


class Counter(DurableObject):
    async def on_fetch(self, request):
        return Response("on_fetch of the object")


async def on_fetch(request, env):
    return await env.COUNTER.get(env.COUNTER.idFromName("a")).fetch(request)
"""


def test_before_2025_08_14_handlers_are_named_on_fetch(pytester: pytest.Pytester) -> None:
    write_project(pytester, TOML.replace("2026-04-01", "2025-08-13"))
    pytester.path.joinpath("src", "entry.py").write_text(LEGACY_ENTRY, encoding="utf-8")
    pytester.makepyfile(
        test_legacy="""
        async def test_legacy(durable_worker, durable_env):
            response = await durable_worker.fetch("/")
            assert await response.text() == "on_fetch of the object"
            response = await durable_env.COUNTER.getByName("a").fetch("https://x.example/")
            assert await response.text() == "on_fetch of the object"
        """
    )
    run(pytester).assert_outcomes(passed=1)


DELETE_ALL = """
async def test_delete_all(durable_env):
    counter = durable_env.COUNTER.getByName("a")
    assert await counter.delete_all_with_an_alarm() == {{"count": None, "alarm": {alarm}}}
"""


@pytest.mark.parametrize(
    ("date", "flags", "deleted"),
    [
        ("2026-02-23", "", False),
        ("2026-02-24", "", True),
        ("2026-04-01", '"delete_all_preserves_alarm"', False),
        ("2026-01-01", '"delete_all_deletes_alarm"', True),
    ],
)
def test_delete_all_and_the_alarm(
    pytester: pytest.Pytester, date: str, flags: str, deleted: bool
) -> None:
    write_project(
        pytester,
        TOML.replace("2026-04-01", date).replace('["python_workers"]', f"[{flags}]"),
    )
    alarm = "None" if deleted else "60_000"
    pytester.makepyfile(test_delete_all=DELETE_ALL.format(alarm=alarm))

    run(pytester).assert_outcomes(passed=1)


def test_the_docs_list_every_modelled_flag() -> None:
    page = Path(__file__).parents[1].joinpath("docs", "configuration.md").read_text("utf-8")

    for flag in FLAGS:
        assert f"| `{flag.name}` / `{flag.disable}` | {flag.date} |" in page
    assert f"the date is `{DEFAULT_COMPATIBILITY_DATE}`" in page


def test_compatibility_flags_must_be_a_list(tmp_path: Path) -> None:
    (tmp_path / "wrangler.toml").write_text(
        'compatibility_flags = "python_workers"\n', encoding="utf-8"
    )

    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "wrangler.toml")

    assert str(caught.value) == (
        f"{tmp_path}/wrangler.toml: 'compatibility_flags' must be a list of flag names, "
        "got 'python_workers'"
    )


# -- migrations ---------------------------------------------------------------------------


def test_a_class_created_by_two_migrations(pytester: pytest.Pytester) -> None:
    write_project(pytester, TOML + '\n[[migrations]]\ntag = "v2"\nnew_classes = ["Counter"]\n')
    pytester.makepyfile(test_env="def test_env(durable_env): pass")

    assert_one_error(
        run(pytester),
        f"{pytester.path}/wrangler.toml: class 'Counter' is created twice, in "
        "migrations[0].new_sqlite_classes and in migrations[1].new_classes; a class is "
        "created by one migration only",
    )


def test_renamed_and_deleted_classes(tmp_path: Path) -> None:
    (tmp_path / "wrangler.json").write_text(
        """{"migrations": [
          {"tag": "v1", "new_sqlite_classes": ["Counter", "Old"], "new_classes": ["Kv"]},
          {"tag": "v2", "renamed_classes": [{"from": "Counter", "to": "Tally"}]},
          {"tag": "v3", "deleted_classes": ["Old"]},
          {"tag": "v4", "new_classes": ["Old"]}
        ]}""",
        encoding="utf-8",
    )

    # A renamed class keeps its storage backend; a deleted one can be created again.
    assert load_config(tmp_path / "wrangler.json").sqlite_classes == {"Tally"}


# -- errors ---------------------------------------------------------------------------------


def test_a_missing_durable_config_file(pytester: pytest.Pytester) -> None:
    write_project(pytester)
    pytester.makepyfile(test_env="def test_env(durable_env): pass")

    assert_one_error(
        run(pytester, "--durable-config", "configs/wrangler.toml"),
        f"{pytester.path}/configs/wrangler.toml: no such wrangler configuration file",
    )


def test_a_toml_syntax_error(pytester: pytest.Pytester) -> None:
    write_project(pytester, TOML.replace('class_name = "Counter"', 'class_name = Counter"'))
    pytester.makepyfile(test_env="def test_env(durable_env): pass")

    assert_one_error(
        run(pytester),
        f"{pytester.path}/wrangler.toml: invalid TOML: Invalid value (at line 12, column 14)",
    )


def test_a_jsonc_syntax_error_points_past_comments(pytester: pytest.Pytester) -> None:
    write_project(pytester, JSONC.replace('"main"', "main"), "wrangler.jsonc")
    pytester.makepyfile(test_env="def test_env(durable_env): pass")

    assert_one_error(
        run(pytester),
        f"{pytester.path}/wrangler.jsonc:5:3: invalid JSON: Expecting property name enclosed "
        "in double quotes",
    )


def test_a_binding_to_an_unknown_class(pytester: pytest.Pytester) -> None:
    write_project(pytester, TOML.replace('class_name = "Counter"', 'class_name = "Tally"'))
    pytester.makepyfile(test_env="def test_env(durable_env): pass")

    assert_one_error(
        run(pytester),
        f"{pytester.path}/wrangler.toml: durable_objects.bindings 'COUNTER' names class "
        f"'Tally', but {pytester.path}/src/entry.py defines no such class; its Durable "
        "Object classes are: Counter",
    )


def test_a_binding_with_script_name(pytester: pytest.Pytester) -> None:
    write_project(pytester, TOML.replace('class_name = "Counter"', 'class_name = "Counter"\n'
                                         'script_name = "billing"'))
    pytester.makepyfile(test_env="def test_env(durable_env): pass")

    assert_one_error(
        run(pytester),
        f"{pytester.path}/wrangler.toml: durable_objects.bindings 'COUNTER' points at another "
        "Worker (script_name = 'billing'); pytest-durable simulates one Worker: remove "
        "script_name in a test configuration, or test that Worker in its own project",
    )


# -- bindings the simulator does not model ----------------------------------------------------

UNMODELLED = """
[[kv_namespaces]]
binding = "SESSIONS"
id = "0f2ac74b498b48028cb68387c421e279"

[[r2_buckets]]
binding = "UPLOADS"
bucket_name = "uploads"

[[d1_databases]]
binding = "DB"
database_name = "shop"
database_id = "00000000-0000-0000-0000-000000000000"

[[queues.producers]]
binding = "JOBS"
queue = "jobs"

[[services]]
binding = "AUTH"
service = "auth-worker"

[ai]
binding = "AI"
"""


def test_unmodelled_bindings(pytester: pytest.Pytester) -> None:
    write_project(pytester, TOML + UNMODELLED)
    pytester.makepyfile(
        test_unmodelled="""
        import pytest


        @pytest.mark.parametrize(
            ("name", "kind"),
            [
                ("SESSIONS", "a KV namespace"),
                ("UPLOADS", "an R2 bucket"),
                ("DB", "a D1 database"),
                ("JOBS", "a Queue producer"),
                ("AUTH", "a service"),
                ("AI", "a Workers AI"),
            ],
        )
        def test_touching_one_raises(durable_env, name, kind):
            with pytest.raises(NotImplementedError) as caught:
                getattr(durable_env, name)
            assert str(caught.value) == (
                f"env.{name} is {kind} binding, which pytest-durable does not model (it "
                "models Durable Object namespaces, vars and secrets; this env has: COUNTER, "
                "GREETING)"
            )


        async def test_the_durable_objects_still_work(durable_env, durable_worker):
            assert await durable_env.COUNTER.getByName("a").increment() == 1
            assert await (await durable_worker.fetch("/")).text() == "hello"
        """
    )
    run(pytester).assert_outcomes(passed=7)


# -- the report header ---------------------------------------------------------------------


def test_the_header_names_the_config(pytester: pytest.Pytester) -> None:
    write_project(pytester)

    result = run(pytester)
    result.stdout.fnmatch_lines(
        [
            literally(
                f"durable: config {pytester.path}/wrangler.toml, compatibility_date "
                "2026-04-01, clock fake"
            )
        ]
    )


def test_the_header_names_the_environment(pytester: pytest.Pytester) -> None:
    write_project(pytester, STAGING.replace('[env.test]\nname = "shop-for-tests"\n', ""))
    pytester.mkdir("configs").joinpath("other.toml").write_text(STAGING, encoding="utf-8")

    result = run(pytester, "--durable-config", "configs/other.toml", "--durable-env", "staging")
    result.stdout.fnmatch_lines(
        [
            literally(
                f"durable: config {pytester.path}/configs/other.toml, environment staging, "
                "compatibility_date 2026-04-01, clock fake"
            )
        ]
    )


def test_the_header_without_a_config(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)

    result = run(pytester, "--durable-clock", "real")
    result.stdout.fnmatch_lines(
        [
            literally(
                "durable: config nearest wrangler config of each test, compatibility_date "
                "per config, clock real"
            )
        ]
    )


def test_a_compatibility_date_in_the_future_is_refused(pytester: pytest.Pytester) -> None:
    write_project(pytester, TOML.replace("2026-04-01", "2999-01-01"))
    pytester.makepyfile(
        test_future="async def test_it(durable_ns):\n    pass\n"
    )
    result = run(pytester)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*pytest-durable: */wrangler.toml: compatibility_date 2999-01-01 is in the future; "
            "the runtime refuses a date later than today (*)"
        ]
    )


def test_the_header_lists_flags_that_change_nothing_here(pytester: pytest.Pytester) -> None:
    flags = '["python_workers", "nodejs_compat"]'
    write_project(pytester, TOML.replace('["python_workers"]', flags))

    result = run(pytester)
    result.stdout.fnmatch_lines(
        [
            literally(
                f"durable: config {pytester.path}/wrangler.toml, compatibility_date "
                "2026-04-01, clock fake; flags not modelled (no effect here): nodejs_compat"
            )
        ]
    )
