"""The built wheel, installed outside the checkout, as a new user gets it.

The wheel is built offline (hatchling from the test extras, no build
isolation) and installed into a fresh virtualenv in a temporary folder. The
dependencies are borrowed from this environment through a ``.pth`` line,
which adds its site-packages as a plain path: its own ``.pth`` files (the
editable install that would put the checkout on ``sys.path``) are not run,
so ``briefing`` can only come from the wheel, and every command runs from a
folder outside the checkout.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Two short articles of our own, one on the topic and one not.
ON_TOPIC = """\
Russia and China agree to open a third border bridge

Officials from Russia and China agreed on Tuesday to build a third road bridge across the Amur river,
between Blagoveshchensk and Heihe. Russian and Chinese customs will share one inspection hall on the
Chinese bank, and the two governments will split the cost of the approach roads.

Traders on both sides said the first two bridges were already full on most days. Moscow and Beijing
want cross-border trade in grain and timber to double within five years.
"""
OFF_TOPIC = """\
Library extends its opening hours

The town library will open until nine on weekday evenings from next month, the council said. Volunteers
will run a homework club on Tuesdays and a repair cafe on the first Saturday of each month.
"""


def _env(**extra: str) -> dict[str, str]:
    """This process's environment without Briefing's variables or a Python path that could reach the checkout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BRIEFING_", "PYTHON", "VIRTUAL_ENV"))}
    return {**env, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", **extra}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin folder of a fresh virtualenv that holds only the wheel (dependencies borrowed, see above)."""
    try:
        import hatchling  # noqa: F401
    except ImportError:
        pytest.fail("hatchling is not installed: `pip install -e '.[test]'` (it builds the wheel offline)")
    base = tmp_path_factory.mktemp("wheel")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            str(ROOT), "-w", str(base / "dist")], capture_output=True, text=True, timeout=300,
                           cwd=base, env=_env())
    assert build.returncode == 0, build.stderr
    [wheel] = (base / "dist").glob("briefing-*.whl")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300, cwd=base, env=_env())
    site = subprocess.run([str(venv / "bin" / "python"), "-c",
                           "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True, cwd=base, env=_env()).stdout.strip()
    (Path(site) / "borrowed-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    install = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--no-deps", "--no-index",
                              "-q", str(wheel)], capture_output=True, text=True, timeout=300, cwd=base, env=_env())
    assert install.returncode == 0, install.stderr
    return venv / "bin"


def briefing(bin_dir: Path, *args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(bin_dir / "briefing"), *args], capture_output=True, text=True, cwd=cwd,
                          env=_env(**env), timeout=300, umask=0o022)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A user's folder outside the checkout: a config that holds only `sources:`, and an inbox of two articles."""
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "bridge.txt").write_text(ON_TOPIC, encoding="utf-8")
    (tmp_path / "inbox" / "library.txt").write_text(OFF_TOPIC, encoding="utf-8")
    (tmp_path / "briefing.yaml").write_text("sources:\n  - {name: clippings, folder: inbox}\n", encoding="utf-8")
    return tmp_path


def test_the_package_comes_from_the_wheel_with_its_topic_and_templates(installed: Path, tmp_path: Path) -> None:
    """In the new virtualenv `briefing` and `flows` import from it, never from the checkout, with their data."""
    probe = ("import briefing, flows\n"
             "from briefing.config import bundled_topic\n"
             "from briefing.render import templates_dir\n"
             "print(briefing.__file__); print(flows.__file__); print(bundled_topic()); print(templates_dir())")
    out = subprocess.run([str(installed / "python"), "-c", probe], capture_output=True, text=True, cwd=tmp_path,
                         env=_env(), timeout=120)
    assert out.returncode == 0, out.stderr
    package, flows, topic, templates = (Path(line) for line in out.stdout.splitlines())
    venv = installed.parent
    for path in (package, flows, topic, templates):
        assert venv in path.parents and ROOT not in path.parents, path
    assert topic.read_bytes() == (ROOT / "config" / "topics" / "russia_china.yaml").read_bytes()
    assert (templates / "digest.html.j2").is_file()


def test_relevance_without_a_config_scores_with_the_bundled_topic(installed: Path, tmp_path: Path) -> None:
    """`briefing relevance` in a folder with no config and no --topic uses the topic inside the package."""
    records = ('{"id": "on", "title": "Xi Jinping and Vladimir Putin sign gas deal"}\n'
               '{"id": "off", "title": "Library extends its opening hours"}\n')
    result = subprocess.run([str(installed / "briefing"), "relevance", "--jsonl", "-"], input=records,
                            capture_output=True, text=True, cwd=tmp_path, env=_env(), timeout=120)
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["relevant"] for line in result.stdout.splitlines()] == [True, False]


@pytest.mark.usefixtures("prefect_server")
def test_run_from_a_config_of_only_sources_archives_a_digest(installed: Path, folder: Path) -> None:
    """`briefing run` on a config holding only `sources:`: the bundled topic, a digest archived beside it, readable."""
    from prefect.settings import PREFECT_API_URL

    result = briefing(installed, "run", "--config", "briefing.yaml", cwd=folder,
                      PREFECT_API_URL=str(PREFECT_API_URL.value()))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    archive = Path(result.stdout.strip().splitlines()[-1])
    assert archive.parent == folder / "digests" and archive.is_file()
    html = archive.read_text(encoding="utf-8")
    assert "Russia and China agree to open a third border bridge" in html
    assert "Library extends its opening hours" not in html
    for path in archive.parent.iterdir():  # the umask decides, as for any file: 0644 under 022
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path


@pytest.mark.parametrize(("command", "config", "environ", "expected"), [
    (["ingest"], "sources:\n  - {name: clippings, folder: inbox}\ntopic: no-such-topic.yaml\n", {},
     "at key 'topic': topic file not found: {folder}/no-such-topic.yaml"),
    (["run"], "sources:\n  - {name: clippings, folder: inbox}\n  - {name: missing, folder: elsewhere}\n", {},
     "in {folder}/briefing.yaml at key 'sources[1].folder': folder not found: {folder}/elsewhere"),
    (["serve"], "sources:\n  - {name: some-feed, feed: 'ftp://example.org/rss'}\n", {},
     "in briefing.yaml at key 'sources[0].feed': not an http(s) URL with a host"),
    (["digest", "--since", "2026-11-08", "--until", "2026-11-01"], "sources:\n  - {name: c, folder: inbox}\n", {},
     "--since/--until: window start 2026-11-08T00:00:00+00:00 is not before its end"),
    (["digest"], "sources:\n  - {name: c, folder: inbox}\n", {"BRIEFING_DIGEST__MAX_STORIES": "lots"},
     "config error in environment variable BRIEFING_DIGEST__MAX_STORIES: Input should be a valid integer"),
], ids=["topic-missing", "folder-missing", "feed-not-http", "since-after-until", "env-not-an-integer"])
def test_a_mistake_is_one_line_and_exit_2_before_any_run(installed: Path, folder: Path, command: list[str],
                                                         config: str, environ: dict[str, str],
                                                         expected: str) -> None:
    """Each mistake: exit 2, nothing on stdout, one stderr line that names the file or variable and the key."""
    (folder / "briefing.yaml").write_text(config, encoding="utf-8")
    result = briefing(installed, *command, "--config", "briefing.yaml", cwd=folder,
                      PREFECT_API_URL="http://127.0.0.1:9/api", **environ)  # no flow may start: nothing answers
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and expected.format(folder=folder) in lines[0], lines[0]
    assert not (folder / ".briefing").exists() and not (folder / "digests").exists()
