"""load_config and check_config: the shipped file, defaults, path resolution, env overrides, and errors that
name the file (or the variable) and the key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from briefing.config import Config, bundled_topic, check_config, key_name, load_config
from briefing.exceptions import ConfigError

ROOT = Path(__file__).resolve().parents[1]

EXAMPLE = """\
state_dir: .briefing
archive_dir: digests
sources:
  - {name: sample-inbox, folder: examples/inbox}
  - {name: some-feed, feed: "https://example.org/rss.xml"}
topic: topics/russia_china.yaml
digest: {title: "Russia–China Relations Digest", first_window_days: 7, max_stories: 15, summary_sentences: 3}
email: {sender: a@example.org, to: [b@example.org], smtp_host: localhost, smtp_port: 25, security: none, \
username: null, password_env: BRIEFING_SMTP_PASSWORD}
"""


def write(tmp_path: Path, text: str, name: str = "conf/briefing.yaml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def example(tmp_path: Path) -> Path:
    return write(tmp_path, EXAMPLE)


def test_shipped_config_loads_and_resolves_against_its_folder() -> None:
    """config/briefing.yaml loads; its relative paths point into the project, to files that exist."""
    config = load_config(ROOT / "config" / "briefing.yaml", environ={})
    assert config.state_dir == ROOT / ".briefing"
    assert config.archive_dir == ROOT / "digests"
    assert config.topic == ROOT / "config" / "topics" / "russia_china.yaml" and config.topic.is_file()
    assert [(s.name, s.folder) for s in config.sources] == [("sample-inbox", ROOT / "examples" / "inbox")]
    assert config.sources[0].folder.is_dir()
    assert config.email is None
    assert config.path == ROOT / "config" / "briefing.yaml"


def test_example_keys_all_load(example: Path) -> None:
    """Every key of the documented example loads with its value and type."""
    config = load_config(example, environ={})
    feed = config.sources[1]
    assert (feed.name, feed.feed, feed.folder) == ("some-feed", "https://example.org/rss.xml", None)
    assert config.digest.title == "Russia–China Relations Digest"
    assert (config.digest.first_window_days, config.digest.max_stories, config.digest.summary_sentences) == (7, 15, 3)
    email = config.email
    assert email is not None
    assert (email.sender, email.to, email.smtp_host, email.smtp_port) == ("a@example.org", ["b@example.org"],
                                                                          "localhost", 25)
    assert (email.security, email.username, email.password_env) == ("none", None, "BRIEFING_SMTP_PASSWORD")
    assert config.database_url == f"sqlite:///{example.parent / '.briefing' / 'briefing.sqlite'}"


def test_relative_paths_resolve_against_config_folder_not_cwd(example: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """state_dir, archive_dir, topic and folder sources resolve against the config's folder from any cwd."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    base = example.parent
    config = load_config(Path(os.path.relpath(example, elsewhere)), environ={})
    assert config.state_dir == base / ".briefing"
    assert config.archive_dir == base / "digests"
    assert config.topic == base / "topics" / "russia_china.yaml"
    assert config.sources[0].folder == base / "examples" / "inbox"
    assert config.path == example


def test_absolute_paths_stay_absolute(tmp_path: Path) -> None:
    """Absolute paths in the file are kept as they are."""
    abs_dir = tmp_path / "abs"
    path = write(tmp_path, f"state_dir: {abs_dir / 'state'}\narchive_dir: {abs_dir / 'arch'}\n"
                           f"topic: {abs_dir / 't.yaml'}\nsources: [{{name: f, folder: {abs_dir / 'in'}}}]\n")
    config = load_config(path, environ={})
    assert (config.state_dir, config.archive_dir, config.topic, config.sources[0].folder) == (
        abs_dir / "state", abs_dir / "arch", abs_dir / "t.yaml", abs_dir / "in")


def test_env_overrides_typed_and_nested(example: Path) -> None:
    """BRIEFING_* variables override file values, parsed as YAML, nested with '__'."""
    config = load_config(example, environ={
        "BRIEFING_STATE_DIR": "/srv/briefing/state",
        "BRIEFING_ARCHIVE_DIR": "out/archive",
        "BRIEFING_DIGEST__MAX_STORIES": "4",
        "BRIEFING_EMAIL__TO": "[x@y.org]",
    })
    assert config.state_dir == Path("/srv/briefing/state")
    assert config.archive_dir == example.parent / "out" / "archive"
    assert config.digest.max_stories == 4 and isinstance(config.digest.max_stories, int)
    assert config.digest.summary_sentences == 3  # siblings of an overridden key are kept
    assert config.email is not None and config.email.to == ["x@y.org"]
    assert config.email.sender == "a@example.org"


def test_non_config_briefing_variables_are_ignored(example: Path) -> None:
    """BRIEFING_SMTP_PASSWORD, BRIEFING_CONFIG (and BRIEFING_PATH) are not read as config keys."""
    plain = load_config(example, environ={})
    config = load_config(example, environ={
        "BRIEFING_SMTP_PASSWORD": "s3cret: [not yaml",
        "BRIEFING_CONFIG": "/nowhere/briefing.yaml",
        "BRIEFING_PATH": "/nowhere",
        "UNRELATED": "1",
    })
    assert config == plain
    assert config.path == example


def test_default_environ_is_os_environ(example: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without an environ argument, the process environment is used."""
    monkeypatch.setenv("BRIEFING_DIGEST__MAX_STORIES", "9")
    assert load_config(example).digest.max_stories == 9


@pytest.mark.parametrize(("text", "environ", "key"), [
    ("bogus: 1\n", {}, "bogus"),
    ("digest: {max_stories: lots}\n", {}, "digest.max_stories"),
    ("digest: {max_stories: 0}\n", {}, "digest.max_stories"),
    ("digest: {colour: red}\n", {}, "digest.colour"),
    ("sources:\n  - {name: a, folder: x, feed: 'https://example.org/rss'}\n", {}, "sources[0]"),
    ("sources:\n  - {name: a, folder: x}\n  - {name: b}\n", {}, "sources[1]"),
    ("sources:\n  - {name: a, feed: 'ftp://example.org/rss'}\n", {}, "sources[0].feed"),
    ("sources:\n  - {name: a, feed: 'https:///rss'}\n", {}, "sources[0].feed"),
    ("sources:\n  - {name: a, feed: 'example.org/rss'}\n", {}, "sources[0].feed"),
    ("email: {sender: a@example.org, to: [b@example.org], security: tls}\n", {}, "email.security"),
], ids=["unknown-key", "wrong-type", "out-of-range", "unknown-nested-key", "folder-and-feed",
        "neither-folder-nor-feed", "feed-not-http", "feed-without-host", "feed-without-scheme", "bad-literal"])
def test_bad_values_name_file_and_key(tmp_path: Path, text: str, environ: dict[str, str], key: str) -> None:
    """A wrong key or value raises ConfigError (a ValueError) whose str names the file and the dotted key."""
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path, environ=environ)
    err = info.value
    assert isinstance(err, ValueError)
    assert (err.path, err.key) == (str(path), key)
    assert str(path) in str(err) and f"'{key}'" in str(err)


@pytest.mark.parametrize(("text", "message"), [
    ("digest: [unclosed\n", "not valid YAML"),
    ("- just\n- a list\n", "mapping"),
], ids=["invalid-yaml", "not-a-mapping"])
def test_unreadable_files_name_the_file(tmp_path: Path, text: str, message: str) -> None:
    """Invalid YAML or a non-mapping file raises ConfigError naming the file."""
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as info:
        load_config(path, environ={})
    assert info.value.path == str(path) and str(path) in str(info.value)


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    """A missing config file is a ConfigError naming that file, not an OSError."""
    path = tmp_path / "missing.yaml"
    with pytest.raises(ConfigError, match="cannot read") as info:
        load_config(path, environ={})
    assert str(path) in str(info.value)


def test_duplicate_source_names_are_rejected(tmp_path: Path) -> None:
    """Two sources with one name raise ConfigError naming the file and the repeated name."""
    path = write(tmp_path, "sources:\n  - {name: a, folder: x}\n  - {name: a, feed: 'https://e.org/rss'}\n")
    with pytest.raises(ConfigError, match="repeated: a") as info:
        load_config(path, environ={})
    assert str(path) in str(info.value)


def test_duplicate_source_names_name_the_key(tmp_path: Path) -> None:
    """The duplicate-name error names the key 'sources', as every ConfigError should."""
    path = write(tmp_path, "sources:\n  - {name: a, folder: x}\n  - {name: a, folder: y}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert info.value.key == "sources"
    assert "'sources'" in str(info.value)


def test_config_is_frozen(example: Path) -> None:
    """A loaded Config cannot be changed in place."""
    config = load_config(example, environ={})
    assert isinstance(config, Config)
    with pytest.raises(ValueError):
        config.digest.max_stories = 1  # type: ignore[misc]


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRIEFING_")}
    return subprocess.run([sys.executable, "-m", "briefing.cli", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=120)


@pytest.mark.parametrize(("text", "key"), [
    ("digest: {max_stories: lots}\n", "digest.max_stories"),
    ("sources:\n  - {name: a, folder: x, feed: 'https://example.org/rss'}\n", "sources[0]"),
], ids=["wrong-type", "folder-and-feed"])
def test_cli_bad_config_exits_2_with_one_line(tmp_path: Path, text: str, key: str) -> None:
    """`briefing ingest --config bad` exits 2 before any flow runs, with one stderr line naming key and file."""
    bad = write(tmp_path, text)
    result = _cli("ingest", "--config", str(bad), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert key in lines[0] and str(bad) in lines[0]


def test_cli_missing_config_exits_2(tmp_path: Path) -> None:
    """A missing --config file is a config error (exit 2) naming the file."""
    result = _cli("ingest", "--config", str(tmp_path / "nope.yaml"), cwd=tmp_path)
    assert result.returncode == 2
    assert str(tmp_path / "nope.yaml") in result.stderr


def test_env_plain_values_stay_text(tmp_path: Path) -> None:
    """A plain env value is text for the model to convert: 'No: weekly' stays a title, not YAML."""
    path = write(tmp_path, "digest: {title: x}\n")
    config = load_config(path, environ={"BRIEFING_DIGEST__TITLE": "No: weekly",
                                        "BRIEFING_DIGEST__SEND_EMPTY": "true", "BRIEFING_EMAIL": "null"})
    assert config.digest.title == "No: weekly" and config.digest.send_empty is True and config.email is None


# --- environment variables are named, not the file ------------------------------------------------------

@pytest.mark.parametrize(("environ", "variable", "key", "message"), [
    ({"BRIEFING_DIGEST__MAX_STORIES": "lots"}, "BRIEFING_DIGEST__MAX_STORIES", None, "valid integer"),
    ({"BRIEFING_DIGEST__MAX_STORIES": "[unclosed"}, "BRIEFING_DIGEST__MAX_STORIES", None, "not valid YAML"),
    ({"BRIEFING_DIGEST": "{max_stories: 0}"}, "BRIEFING_DIGEST", "digest.max_stories", "greater than or equal"),
    ({"BRIEFING_DIGEST__COLOUR": "red"}, "BRIEFING_DIGEST__COLOUR", None, "Extra inputs"),
], ids=["wrong-type", "bad-yaml", "inside-a-mapping", "unknown-key"])
def test_a_bad_variable_is_blamed_on_the_variable(example: Path, environ: dict[str, str], variable: str,
                                                  key: str | None, message: str) -> None:
    """A wrong value from BRIEFING_* names that variable (and the key inside it), never the config file."""
    with pytest.raises(ConfigError, match=message) as info:
        load_config(example, environ=environ)
    err = info.value
    assert (err.path, err.key) == (f"environment variable {variable}", key)
    assert str(err).startswith(f"config error in environment variable {variable}")
    assert str(example) not in str(err) and "\n" not in str(err)


def test_a_bad_value_in_the_file_is_still_the_files(example: Path) -> None:
    """With variables set for other keys, a mistake in the file is named in the file."""
    path = example.with_name("bad.yaml")
    path.write_text("digest: {max_stories: lots}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={"BRIEFING_DIGEST__TITLE": "Weekly", "BRIEFING_STATE_DIR": "/tmp/x"})
    assert (info.value.path, info.value.key) == (str(path), "digest.max_stories")


def test_a_bad_feed_in_the_feeds_file_names_that_file(tmp_path: Path) -> None:
    """Sources from feeds.yaml are numbered and named in feeds.yaml, not in the config."""
    path = write(tmp_path, "sources:\n  - {name: a, folder: x}\n")
    feeds = path.with_name("feeds.yaml")
    feeds.write_text("sources:\n  - {name: f1, feed: 'https://e.org/rss'}\n  - {name: f2, feed: 'gopher://e.org'}\n",
                     encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert (info.value.path, info.value.key) == (str(feeds), "sources[1].feed")


def test_invalid_yaml_is_one_line(tmp_path: Path) -> None:
    """PyYAML's message spans lines; the ConfigError holds it on one."""
    path = write(tmp_path, "digest: [unclosed\nsources: {\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert "\n" not in str(info.value) and "line" in str(info.value)


def test_key_names_read_as_written() -> None:
    assert key_name(("sources", 0, "folder")) == "sources[0].folder"
    assert key_name(("digest", "max_stories")) == "digest.max_stories"
    assert key_name(()) == ""


# --- defaults: a config of only sources -------------------------------------------------------------------

def test_a_config_of_only_sources_gets_the_bundled_topic(tmp_path: Path) -> None:
    """With no `topic:` the bundled Russia–China topic is used, not a topics/ folder beside the config."""
    path = write(tmp_path, "sources:\n  - {name: a, folder: inbox}\n")
    config = load_config(path, environ={})
    assert config.topic == bundled_topic() and config.topic.is_file()
    assert config.topic.parent != path.parent / "topics"
    assert (config.state_dir, config.archive_dir) == (path.parent / ".briefing", path.parent / "digests")


def test_the_bundled_topic_in_a_checkout_is_the_config_one() -> None:
    """From the checkout (editable install) the bundled topic is config/topics/: one copy to edit."""
    assert bundled_topic() == ROOT / "config" / "topics" / "russia_china.yaml"


def test_a_topic_named_in_the_config_wins(tmp_path: Path) -> None:
    path = write(tmp_path, "topic: mine.yaml\n")
    assert load_config(path, environ={}).topic == path.parent / "mine.yaml"


# --- check_config: what the values point to --------------------------------------------------------------

@pytest.fixture
def inbox_config(tmp_path: Path) -> Path:
    (tmp_path / "conf" / "inbox").mkdir(parents=True)
    return write(tmp_path, "sources:\n  - {name: a, folder: inbox}\n  - {name: f, feed: 'https://e.org/rss'}\n")


def test_check_config_passes_a_good_config(inbox_config: Path) -> None:
    check_config(load_config(inbox_config, environ={}))
    check_config(load_config(ROOT / "config" / "briefing.yaml", environ={}))


@pytest.mark.parametrize(("setup", "key", "message"), [
    (lambda d: (d / "inbox").rmdir(), "sources[0].folder", "folder not found: {d}/inbox"),
    (lambda d: ((d / "inbox").rmdir(), (d / "inbox").write_text("x")), "sources[0].folder", "not a folder: {d}/inbox"),
], ids=["folder-missing", "folder-is-a-file"])
def test_check_config_names_a_bad_folder(inbox_config: Path, setup, key: str, message: str) -> None:
    """A folder source that does not exist (or is a file) is a ConfigError at its key, naming the config."""
    config = load_config(inbox_config, environ={})
    setup(inbox_config.parent)
    with pytest.raises(ConfigError) as info:
        check_config(config)
    assert (info.value.path, info.value.key) == (str(inbox_config), key)
    assert message.format(d=inbox_config.parent) in str(info.value)


def test_check_config_names_a_missing_topic(tmp_path: Path) -> None:
    path = write(tmp_path, "topic: topics/gone.yaml\n")
    with pytest.raises(ConfigError, match="topic file not found") as info:
        check_config(load_config(path, environ={}))
    assert (info.value.path, info.value.key) == (str(path), "topic")
    assert str(path.parent / "topics" / "gone.yaml") in str(info.value)


def test_check_config_names_a_bad_topic_file(tmp_path: Path) -> None:
    """A topic file that reads but is wrong is named itself: the mistake is in it."""
    path = write(tmp_path, "topic: t.yaml\n")
    (path.parent / "t.yaml").write_text("threshold: high\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        check_config(load_config(path, environ={}))
    assert info.value.path == str(path.parent / "t.yaml")
