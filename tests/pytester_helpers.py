"""What the pytester-based tests share: running a project, matching lines."""

from __future__ import annotations

import glob

import pytest


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """Run pytest on the pytester project in a subprocess (the plugin
    imports user modules by name, so each project gets a fresh process)."""
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)


def literally(line: str) -> str:
    """An fnmatch pattern that matches exactly ``line``."""
    return glob.escape(line)
