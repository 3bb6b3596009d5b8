"""The library's public surface, and its promise never to import Prefect."""

from __future__ import annotations

import subprocess
import sys

import briefing


def test_all_names_exist() -> None:
    """Every name in __all__ is importable from the package."""
    for name in briefing.__all__:
        assert hasattr(briefing, name), name


def test_library_never_imports_prefect() -> None:
    """Importing every briefing module (and the stage CLI) pulls in neither prefect nor flows."""
    code = ("import sys, pkgutil, importlib, briefing\n"
            "for m in pkgutil.walk_packages(briefing.__path__, 'briefing.'):\n"
            "    importlib.import_module(m.name)\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('prefect', 'flows')]\n"
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
