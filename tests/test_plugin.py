"""The pytest wiring, tested the way users meet it: projects written with
``pytester`` and run in a subprocess (the plugin imports each project's main
module by name, so every run gets a fresh interpreter)."""

from __future__ import annotations

import textwrap

import pytest
from pytester_helpers import literally, run

from pytest_durable.plugin import MARKER_KEYWORDS

ENTRY = """
from workers import DurableObject



class Counter(DurableObject):
    async def kind(self):
        return "Counter"

    async def increment(self, by=1):
        count = (await self.ctx.storage.get("count") or 0) + by
        await self.ctx.storage.put("count", count)
        return count

    async def count(self):
        return await self.ctx.storage.get("count") or 0


class Notes(DurableObject):
    async def kind(self):
        return "Notes"

    async def add(self, text):
        notes = await self.ctx.storage.get("notes") or []
        await self.ctx.storage.put("notes", [*notes, text])
        return len(notes) + 1


class NotADurableObject:
    pass
"""

TOML = """
name = "shop"
main = "src/entry.py"
compatibility_date = "2026-04-01"

[vars]
GREETING = "hello"

[[durable_objects.bindings]]
name = "COUNTER"
class_name = "Counter"
"""

NOTES_BINDING = """
[[durable_objects.bindings]]
name = "NOTES"
class_name = "Notes"
"""

INI = """
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
filterwarnings = error
"""

# A test module that tells which class its durable_ns reaches.
KIND = """
import pytest

{marks}

async def test_kind(durable_ns):
    assert await durable_ns.getByName("x").kind() == {expected!r}
"""


def write_project(
    pytester: pytest.Pytester, config: str = TOML, name: str = "wrangler.toml"
) -> None:
    pytester.makeini(INI)
    pytester.path.joinpath(name).write_text(textwrap.dedent(config), encoding="utf-8")
    pytester.mkdir("src")
    pytester.path.joinpath("src", "entry.py").write_text(ENTRY, encoding="utf-8")


def assert_one_error(result: pytest.RunResult, message: str) -> None:
    """The run's one error is reported as ``message`` alone: one line, with
    no traceback from inside the plugin."""
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "_* ERROR at setup of test_* _*",
            literally(f"pytest-durable: {message}"),
            "=* short test summary info =*",
        ],
        consecutive=True,
    )
    output = result.stdout.str()
    assert "plugin.py" not in output
    assert "_config.py" not in output
    assert "Traceback" not in output


# -- finding and reading the wrangler configuration -------------------------------


def test_wrangler_toml(pytester: pytest.Pytester) -> None:
    write_project(pytester)
    pytester.makepyfile(
        test_toml="""
        async def test_counter(durable_ns):
            stub = durable_ns.getByName("alice")
            assert await stub.increment() == 1
            assert await stub.increment(2) == 3
            assert await durable_ns.getByName("bob").count() == 0
        """
    )
    run(pytester).assert_outcomes(passed=1)


def test_wrangler_jsonc_with_comments_and_trailing_commas(pytester: pytest.Pytester) -> None:
    write_project(
        pytester,
        """
        // The shop Worker.
        {
          "name": "shop", /* inline, before the next key */
          "main": "src/entry.py",
          "compatibility_date": "2026-04-01",
          "vars": {"URL": "https://example.com/a//b", "GLOB": "/*not a comment*/",},
          "durable_objects": {
            "bindings": [
              {"name": "COUNTER", "class_name": "Counter",}, // trailing comma
              {"name": "NOTES", "class_name": "Notes"},
            ],
          },
        }
        """,
        name="wrangler.jsonc",
    )
    pytester.makepyfile(
        test_jsonc="""
        async def test_env(durable_env):
            assert durable_env.URL == "https://example.com/a//b"
            assert durable_env.GLOB == "/*not a comment*/"
            assert await durable_env.COUNTER.getByName("a").increment() == 1
            assert await durable_env.NOTES.getByName("a").add("milk") == 1
        """
    )
    run(pytester).assert_outcomes(passed=1)


def test_wrangler_json(pytester: pytest.Pytester) -> None:
    write_project(
        pytester,
        """
        {
          "name": "shop",
          "main": "src/entry.py",
          "compatibility_date": "2026-04-01",
          "durable_objects": {"bindings": [{"name": "NOTES", "class_name": "Notes"}]}
        }
        """,
        name="wrangler.json",
    )
    pytester.makepyfile(
        test_json="""
        async def test_notes(durable_ns):
            assert await durable_ns.getByName("list").add("eggs") == 1
            assert await durable_ns.getByName("list").add("ham") == 2
        """
    )
    run(pytester).assert_outcomes(passed=1)


def test_nearest_config_to_each_test_file(pytester: pytest.Pytester) -> None:
    write_project(pytester)
    inner = pytester.mkdir("notes_worker")
    inner.joinpath("wrangler.toml").write_text(
        textwrap.dedent(
            """
            main = "entry.py"
            compatibility_date = "2026-04-01"
            """
            + NOTES_BINDING
        ),
        encoding="utf-8",
    )
    inner.joinpath("entry.py").write_text(ENTRY, encoding="utf-8")
    inner.joinpath("test_inner.py").write_text(
        KIND.format(marks="", expected="Notes"), encoding="utf-8"
    )
    pytester.makepyfile(test_outer=KIND.format(marks="", expected="Counter"))
    run(pytester).assert_outcomes(passed=2)


def test_wrangler_json_wins_over_jsonc_and_toml_in_one_folder(pytester: pytest.Pytester) -> None:
    # wrangler looks for wrangler.json, then wrangler.jsonc, then wrangler.toml.
    def write_json(name: str, class_name: str) -> None:
        pytester.path.joinpath(name).write_text(
            '{"main": "src/entry.py", "compatibility_date": "2026-04-01", "durable_objects": '
            f'{{"bindings": [{{"name": "NS", "class_name": "{class_name}"}}]}}}}',
            encoding="utf-8",
        )

    write_project(pytester)  # wrangler.toml binds Counter
    write_json("wrangler.jsonc", "Counter")
    write_json("wrangler.json", "Notes")
    pytester.makepyfile(test_json_first=KIND.format(marks="", expected="Notes"))
    run(pytester).assert_outcomes(passed=1)
    pytester.path.joinpath("wrangler.json").unlink()
    write_json("wrangler.jsonc", "Notes")
    run(pytester).assert_outcomes(passed=1)


def test_durable_config_ini_option(pytester: pytest.Pytester) -> None:
    write_project(pytester)
    pytester.path.joinpath("wrangler.toml").rename(pytester.path / "other.toml")
    pytester.makeini(INI + "durable_config = other.toml\n")
    pytester.mkdir("tests")
    pytester.path.joinpath("tests", "test_named.py").write_text(
        KIND.format(marks="", expected="Counter"), encoding="utf-8"
    )
    run(pytester).assert_outcomes(passed=1)


# -- durable_env and durable_ns ---------------------------------------------------


def test_durable_env_exposes_every_binding_and_var(pytester: pytest.Pytester) -> None:
    write_project(pytester, TOML + NOTES_BINDING)
    pytester.makepyfile(
        test_env="""
        async def test_env(durable_env):
            assert dir(durable_env) == ["COUNTER", "GREETING", "NOTES"]
            assert durable_env.GREETING == "hello"
            assert await durable_env.COUNTER.getByName("a").kind() == "Counter"
            assert await durable_env.NOTES.getByName("a").kind() == "Notes"
        """
    )
    run(pytester).assert_outcomes(passed=1)


def test_durable_ns_picks_the_only_binding(pytester: pytest.Pytester) -> None:
    write_project(pytester)
    pytester.makepyfile(test_only=KIND.format(marks="", expected="Counter"))
    run(pytester).assert_outcomes(passed=1)


def test_durable_ns_picks_the_marker_binding(pytester: pytest.Pytester) -> None:
    write_project(pytester, TOML + NOTES_BINDING)
    pytester.makepyfile(
        test_marked=KIND.format(
            marks="pytestmark = pytest.mark.durable_object(binding='NOTES')", expected="Notes"
        )
    )
    run(pytester).assert_outcomes(passed=1)


def test_durable_ns_picks_the_durable_binding_ini_option(pytester: pytest.Pytester) -> None:
    write_project(pytester, TOML + NOTES_BINDING)
    pytester.makeini(INI + "durable_binding = NOTES\n")
    pytester.makepyfile(test_ini=KIND.format(marks="", expected="Notes"))
    run(pytester).assert_outcomes(passed=1)


def test_marker_binding_wins_over_the_ini_option(pytester: pytest.Pytester) -> None:
    write_project(pytester, TOML + NOTES_BINDING)
    pytester.makeini(INI + "durable_binding = NOTES\n")
    pytester.makepyfile(
        test_ini=KIND.format(
            marks="pytestmark = pytest.mark.durable_object(binding='COUNTER')", expected="Counter"
        )
    )
    run(pytester).assert_outcomes(passed=1)


def test_marker_class_wins_over_the_ini_option(pytester: pytest.Pytester) -> None:
    write_project(pytester, TOML + NOTES_BINDING)
    pytester.makeini(INI + "durable_binding = NOTES\n")
    pytester.makepyfile(
        test_ini="""
        import pytest
        from workers import DurableObject


        class Local(DurableObject):
            async def kind(self):
                return "Local"


        @pytest.mark.durable_object(cls=Local)
        async def test_kind(durable_ns, durable_env):
            assert await durable_ns.getByName("x").kind() == "Local"
            assert dir(durable_env) == ["COUNTER", "GREETING", "Local", "NOTES"]
        """
    )
    run(pytester).assert_outcomes(passed=1)


def test_marker_class_bound_in_the_config_uses_its_binding(pytester: pytest.Pytester) -> None:
    write_project(pytester, TOML + NOTES_BINDING)
    pytester.mkdir("tests")
    pytester.path.joinpath("tests", "test_bound.py").write_text(
        textwrap.dedent(
            """
            import pytest
            from entry import Notes


            @pytest.mark.durable_object(cls=Notes)
            async def test_kind(durable_ns, durable_env):
                assert await durable_ns.getByName("x").kind() == "Notes"
                assert dir(durable_env) == ["COUNTER", "GREETING", "NOTES"]
            """
        ),
        encoding="utf-8",
    )
    run(pytester).assert_outcomes(passed=1)


def test_nearest_marker_wins(pytester: pytest.Pytester) -> None:
    write_project(pytester, TOML + NOTES_BINDING)
    pytester.makepyfile(
        test_nearest="""
        import pytest

        pytestmark = pytest.mark.durable_object(binding="NOTES")


        async def test_module_marker(durable_ns):
            assert await durable_ns.getByName("x").kind() == "Notes"


        @pytest.mark.durable_object(binding="COUNTER")
        class TestClassMarker:
            async def test_class_marker(self, durable_ns):
                assert await durable_ns.getByName("x").kind() == "Counter"

            @pytest.mark.durable_object(binding="NOTES")
            async def test_test_marker(self, durable_ns):
                assert await durable_ns.getByName("x").kind() == "Notes"
        """
    )
    run(pytester).assert_outcomes(passed=3)


def test_class_without_any_config(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(
        test_bare="""
        import pytest
        from workers import DurableObject


        class MyDO(DurableObject):
            async def hello(self, name):
                await self.ctx.storage.put("last", name)
                return f"hello {name}"

            async def last(self):
                return await self.ctx.storage.get("last")


        pytestmark = pytest.mark.durable_object(cls=MyDO, binding="MODULE")


        @pytest.mark.durable_object(cls=MyDO)
        async def test_hello(durable_ns, durable_env):
            stub = durable_ns.getByName("a")
            assert await stub.hello("ada") == "hello ada"
            assert await stub.last() == "ada"
            assert dir(durable_env) == ["MyDO"]


        @pytest.mark.durable_object(MyDO, binding="GREETER")
        async def test_named_binding(durable_ns, durable_env):
            assert await durable_ns.getByName("a").last() is None
            assert dir(durable_env) == ["GREETER"]


        # pytest.mark.NAME(f) with a lone class or function decorates f, so a
        # bare positional class needs with_args().
        @pytest.mark.durable_object.with_args(MyDO)
        async def test_with_args(durable_ns):
            assert await durable_ns.getByName("a").hello("bo") == "hello bo"


        async def test_module_marker(durable_ns, durable_env):
            assert await durable_ns.getByName("a").hello("cy") == "hello cy"
            assert dir(durable_env) == ["MODULE"]


        @pytest.mark.durable_object(cls=MyDO, binding="CLASS")
        class TestClassMarker:
            async def test_class_marker(self, durable_env):
                assert dir(durable_env) == ["CLASS"]
        """
    )
    run(pytester).assert_outcomes(passed=5)


def test_durable_env_without_config_is_empty(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(
        test_empty="""
        def test_env(durable_env):
            assert dir(durable_env) == []
        """
    )
    run(pytester).assert_outcomes(passed=1)


# -- isolation --------------------------------------------------------------------

ISOLATION = """
import pytest


async def test_write(durable_ns, durable_simulation):
    assert await durable_ns.getByName("shared").increment(5) == 5
    assert len(list(durable_simulation.objects("COUNTER"))) == 1


async def test_read(durable_ns, durable_simulation):
    assert list(durable_simulation.objects("COUNTER")) == []
    assert await durable_ns.getByName("shared").count() == 0


@pytest.mark.parametrize("n", range(6))
async def test_each_starts_empty(durable_ns, n):
    assert await durable_ns.getByName("shared").increment(n) == n
"""


@pytest.mark.parametrize(
    "order",
    [
        ["test_iso.py::test_write", "test_iso.py::test_read"],
        ["test_iso.py::test_read", "test_iso.py::test_write"],
    ],
    ids=["write-first", "read-first"],
)
def test_fresh_state_per_test_in_any_order(pytester: pytest.Pytester, order: list[str]) -> None:
    write_project(pytester)
    pytester.makepyfile(test_iso=ISOLATION)
    result = run(pytester, "-v", *order)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines([f"{order[0]} PASSED*", f"{order[1]} PASSED*"])


def test_fresh_state_per_test_under_xdist(pytester: pytest.Pytester) -> None:
    write_project(pytester)
    pytester.makepyfile(test_iso=ISOLATION)
    pytester.makepyfile(test_iso_again=ISOLATION)
    result = run(pytester, "-n", "2")
    result.assert_outcomes(passed=16)


# -- pytest-asyncio modes and strict markers --------------------------------------


def test_asyncio_strict_mode(pytester: pytest.Pytester) -> None:
    write_project(pytester)
    pytester.makeini(INI.replace("asyncio_mode = auto", "asyncio_mode = strict"))
    pytester.makepyfile(
        test_strict="""
        import pytest


        @pytest.mark.asyncio
        async def test_counter(durable_ns):
            assert await durable_ns.getByName("a").increment() == 1


        @pytest.mark.asyncio
        @pytest.mark.durable_object(binding="COUNTER")
        async def test_marked(durable_ns):
            assert await durable_ns.getByName("a").increment() == 1
        """
    )
    run(pytester, "--strict-markers").assert_outcomes(passed=2)


def test_asyncio_auto_mode_from_the_command_line(pytester: pytest.Pytester) -> None:
    write_project(pytester)
    pytester.makeini(INI.replace("asyncio_mode = auto", "asyncio_mode = strict"))
    pytester.makepyfile(test_auto=KIND.format(marks="", expected="Counter"))
    run(pytester, "--asyncio-mode=auto").assert_outcomes(passed=1)


def test_strict_markers_knows_the_marker(pytester: pytest.Pytester) -> None:
    write_project(pytester, TOML + NOTES_BINDING)
    pytester.makepyfile(
        test_strict_markers=KIND.format(
            marks="pytestmark = pytest.mark.durable_object(binding='NOTES')", expected="Notes"
        )
    )
    run(pytester, "--strict-markers").assert_outcomes(passed=1)
    result = run(pytester, "--markers")
    result.stdout.fnmatch_lines(
        ["@pytest.mark.durable_object(cls=None, *, binding=None, sqlite=False): *"]
    )


# -- bad input: one line that names the thing and the fix -------------------------


def test_missing_class(pytester: pytest.Pytester) -> None:
    write_project(pytester, TOML.replace('"Counter"', '"Countr"'))
    pytester.makepyfile(test_env="def test_env(durable_env): pass")
    assert_one_error(
        run(pytester),
        f"{pytester.path}/wrangler.toml: durable_objects.bindings 'COUNTER' names class "
        f"'Countr', but {pytester.path}/src/entry.py defines no such class; its Durable Object "
        "classes are: Counter, Notes",
    )


def test_class_that_is_not_a_durable_object(pytester: pytest.Pytester) -> None:
    write_project(pytester, TOML.replace('"Counter"', '"NotADurableObject"'))
    pytester.makepyfile(test_env="def test_env(durable_env): pass")
    assert_one_error(
        run(pytester),
        f"{pytester.path}/wrangler.toml: durable_objects.bindings 'COUNTER' names "
        "'NotADurableObject', which is not a Durable Object class: subclass "
        "workers.DurableObject (from workers import DurableObject)",
    )


def test_marker_class_that_is_not_a_durable_object(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(
        test_bad_class="""
        import pytest


        class Plain:
            pass


        @pytest.mark.durable_object(cls=Plain)
        def test_env(durable_env):
            pass
        """
    )
    assert_one_error(
        run(pytester),
        "@pytest.mark.durable_object names <class 'test_bad_class.Plain'>, which is not a "
        "Durable Object class: subclass workers.DurableObject (from workers import "
        "DurableObject)",
    )


def test_unknown_binding_in_marker(pytester: pytest.Pytester) -> None:
    write_project(pytester, TOML + NOTES_BINDING)
    pytester.makepyfile(
        test_unknown="""
        import pytest


        @pytest.mark.durable_object(binding="NOTE")
        def test_ns(durable_ns):
            pass
        """
    )
    assert_one_error(
        run(pytester),
        "no Durable Object binding named 'NOTE' (bindings: COUNTER, NOTES); name one in "
        "durable_objects.bindings of the wrangler config or in "
        "@pytest.mark.durable_object(binding=...)",
    )


def test_unknown_binding_in_marker_with_durable_env_only(pytester: pytest.Pytester) -> None:
    write_project(pytester)
    pytester.makepyfile(
        test_unknown="""
        import pytest


        @pytest.mark.durable_object(binding="NOTE")
        def test_env(durable_env):
            pass
        """
    )
    assert_one_error(
        run(pytester),
        "no Durable Object binding named 'NOTE' (bindings: COUNTER); name one in "
        "durable_objects.bindings of the wrangler config or in "
        "@pytest.mark.durable_object(binding=...)",
    )


def test_unknown_binding_in_ini_option(pytester: pytest.Pytester) -> None:
    write_project(pytester)
    pytester.makeini(INI + "durable_binding = NOTES\n")
    pytester.makepyfile(test_ini="def test_ns(durable_ns): pass")
    assert_one_error(
        run(pytester),
        "no Durable Object binding named 'NOTES' (bindings: COUNTER); name one in "
        "durable_objects.bindings of the wrangler config or in "
        "@pytest.mark.durable_object(binding=...)",
    )


def test_unknown_marker_keyword(pytester: pytest.Pytester) -> None:
    write_project(pytester)
    pytester.makepyfile(
        test_keyword="""
        import pytest


        @pytest.mark.durable_object(bindng="COUNTER")
        def test_env(durable_env):
            pass
        """
    )
    assert_one_error(
        run(pytester),
        "@pytest.mark.durable_object got unknown keyword(s) bindng; it takes "
        + ", ".join(MARKER_KEYWORDS),
    )


def test_two_positional_marker_arguments(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(
        test_two="""
        import pytest
        from workers import DurableObject


        class A(DurableObject):
            pass


        @pytest.mark.durable_object(A, "A")
        def test_env(durable_env):
            pass
        """
    )
    assert_one_error(
        run(pytester),
        "@pytest.mark.durable_object takes one positional argument (the class), got 2",
    )


def test_class_given_twice_to_the_marker(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(
        test_twice="""
        import pytest
        from workers import DurableObject


        class A(DurableObject):
            pass


        @pytest.mark.durable_object(A, cls=A)
        def test_env(durable_env):
            pass
        """
    )
    assert_one_error(
        run(pytester),
        "@pytest.mark.durable_object got the class twice (positional and cls=)",
    )


def test_ambiguous_durable_ns(pytester: pytest.Pytester) -> None:
    write_project(pytester, TOML + NOTES_BINDING)
    pytester.makepyfile(test_ambiguous="def test_ns(durable_ns): pass")
    assert_one_error(
        run(pytester),
        "durable_ns is ambiguous: the configuration binds COUNTER, NOTES; choose one with "
        "@pytest.mark.durable_object(binding=...) or the durable_binding ini option",
    )


def test_no_config_and_no_marker(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(test_nothing="def test_ns(durable_ns): pass")
    assert_one_error(
        run(pytester),
        "durable_ns has no Durable Object class: add a wrangler config with "
        "durable_objects.bindings next to the tests, or mark the test with "
        "@pytest.mark.durable_object(cls=MyObject)",
    )


def test_jsonc_syntax_error(pytester: pytest.Pytester) -> None:
    write_project(
        pytester,
        """{
          // the name
          "name": "shop" /* no comma */
          "main": "src/entry.py",
        }
        """,
        name="wrangler.jsonc",
    )
    pytester.makepyfile(test_env="def test_env(durable_env): pass")
    assert_one_error(
        run(pytester),
        f"{pytester.path}/wrangler.jsonc:4:11: invalid JSON: Expecting ',' delimiter",
    )


def test_invalid_toml(pytester: pytest.Pytester) -> None:
    write_project(pytester, 'name = "shop"\nmain =\n')
    pytester.makepyfile(test_env="def test_env(durable_env): pass")
    assert_one_error(
        run(pytester),
        f"{pytester.path}/wrangler.toml: invalid TOML: Invalid value (at line 2, column 7)",
    )


def test_main_names_a_missing_file(pytester: pytest.Pytester) -> None:
    write_project(pytester, TOML.replace("src/entry.py", "src/worker.py"))
    pytester.makepyfile(test_env="def test_env(durable_env): pass")
    assert_one_error(
        run(pytester),
        f"{pytester.path}/wrangler.toml: 'main' names {pytester.path}/src/worker.py, which "
        "does not exist; set 'main' to the Worker's Python module, relative to wrangler.toml",
    )


def test_main_that_fails_to_import(pytester: pytest.Pytester) -> None:
    write_project(pytester)
    pytester.path.joinpath("src", "entry.py").write_text(
        "from workers import DurableObject\nimport not_in_pyodide\n", encoding="utf-8"
    )
    pytester.makepyfile(test_env="def test_env(durable_env): pass")
    assert_one_error(
        run(pytester),
        f"{pytester.path}/src/entry.py:2: ModuleNotFoundError: No module named "
        f"'not_in_pyodide' (importing entry.py, the 'main' of {pytester.path}/wrangler.toml)",
    )


def test_main_with_a_syntax_error(pytester: pytest.Pytester) -> None:
    write_project(pytester)
    pytester.path.joinpath("src", "entry.py").write_text(
        "from workers import DurableObject\n\nclass Counter(DurableObject)\n    pass\n",
        encoding="utf-8",
    )
    pytester.makepyfile(test_env="def test_env(durable_env): pass")
    assert_one_error(
        run(pytester),
        f"{pytester.path}/src/entry.py:3: SyntaxError: expected ':' (entry.py, line 3) "
        f"(importing entry.py, the 'main' of {pytester.path}/wrangler.toml)",
    )


def test_binding_to_another_worker(pytester: pytest.Pytester) -> None:
    write_project(pytester, TOML + 'script_name = "billing"\n')
    pytester.makepyfile(test_env="def test_env(durable_env): pass")
    assert_one_error(
        run(pytester),
        f"{pytester.path}/wrangler.toml: durable_objects.bindings 'COUNTER' points at another "
        "Worker (script_name = 'billing'); pytest-durable simulates one Worker: remove "
        "script_name in a test configuration, or test that Worker in its own project",
    )


def test_error_is_reported_for_every_test(pytester: pytest.Pytester) -> None:
    write_project(pytester, TOML + 'script_name = "billing"\n')
    pytester.makepyfile(
        test_env="""
        def test_one(durable_env): pass
        def test_two(durable_env): pass
        def test_without_fixtures(): pass
        """
    )
    result = run(pytester)
    result.assert_outcomes(passed=1, errors=2)


def test_unknown_durable_clock_option(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    result = run(pytester, "--durable-clock=slow")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*error: argument --durable-clock: invalid choice: 'slow' (choose from *fake*, *real*)"]
    )


def test_unknown_durable_clock_ini(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI + "durable_clock = slow\n")
    result = run(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: durable_clock = 'slow' is not a clock mode: use one of fake, real"]
    )
    assert "Traceback" not in result.stderr.str()
