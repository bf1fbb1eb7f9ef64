"""Tests for squall.autoreload: in-process helpers, and real restarts of child processes."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import types

import pytest
import squall.autoreload
from squall.autoreload import _reloader

POLL_LIMIT = 20.0  # seconds; a cap on polling, not a timing assertion


def child_env():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    env["PYTHONUNBUFFERED"] = "1"
    return env


def read_lines(path):
    try:
        with open(path, encoding="utf-8") as f:
            return [line.rstrip("\n") for line in f if line.strip()]
    except FileNotFoundError:
        return []


def wait_for_lines(path, count, proc):
    deadline = time.monotonic() + POLL_LIMIT
    while time.monotonic() < deadline:
        lines = read_lines(path)
        if len(lines) >= count:
            return lines
        if proc.poll() is not None and len(read_lines(path)) < count:
            break
        time.sleep(0.05)
    return read_lines(path)


def touch_later(path):
    """Change a file so its mtime and size both differ from what was recorded."""
    with open(path, "a", encoding="utf-8") as f:
        f.write("\n# changed\n")
    stat = os.stat(path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))


@pytest.fixture
def spawn():
    procs = []

    def start(args, cwd):
        proc = subprocess.Popen(
            [sys.executable, *args],
            cwd=cwd,
            env=child_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        if proc.stderr is not None:
            proc.stderr.close()


def test_public_interface():
    assert set(squall.autoreload.__all__) == {"start", "wait", "watch", "add_reload_hook", "main"}


@pytest.fixture
def fresh(monkeypatch):
    """A clean process-wide autoreload state for one test."""
    settings = _reloader._Settings()
    monkeypatch.setattr(_reloader, "_settings", settings)
    return settings


@pytest.fixture
def watcher():
    """A watcher on a loop that never runs: its checks are driven by hand."""
    loop = asyncio.new_event_loop()
    try:
        yield _reloader._Watcher(loop, 3600.0)
    finally:
        loop.close()


def test_watch_adds_file(fresh):
    squall.autoreload.watch("/some/file.cfg")
    assert "/some/file.cfg" in fresh.extra_files


def test_reload_hooks_run_in_order_before_exec(fresh, monkeypatch):
    calls = []
    monkeypatch.setattr(_reloader, "_replace_process", calls.append)
    squall.autoreload.add_reload_hook(lambda: calls.append("hook 1"))
    squall.autoreload.add_reload_hook(lambda: calls.append("hook 2"))
    _reloader._restart()
    assert calls[:2] == ["hook 1", "hook 2"]
    assert calls[2][0] == sys.executable
    assert fresh.restarting is True


def test_first_sight_records_then_change_restarts(tmp_path, fresh, watcher, monkeypatch):
    reloads = []
    monkeypatch.setattr(_reloader, "_restart", lambda: reloads.append(1))
    path = tmp_path / "f.txt"
    path.write_text("a", encoding="utf-8")
    squall.autoreload.watch(str(path))
    assert watcher.changed_file() is False
    assert watcher.changed_file() is False
    assert reloads == []
    touch_later(path)
    assert watcher.changed_file() is True
    assert reloads == [1]


def test_missing_watched_file_is_ignored(tmp_path, fresh, watcher, monkeypatch):
    monkeypatch.setattr(_reloader, "_restart", lambda: pytest.fail("restarted"))
    missing = str(tmp_path / "missing")
    squall.autoreload.watch(missing)
    assert watcher.changed_file() is False
    assert missing not in watcher.stamps


def test_no_checks_once_a_restart_began(tmp_path, fresh, watcher):
    squall.autoreload.watch(str(tmp_path))
    fresh.restarting = True
    assert watcher.changed_file() is True
    assert watcher.stamps == {}


def test_no_checks_in_forked_worker(tmp_path, fresh, watcher, monkeypatch):
    import squall.process._fork as fork_mod

    monkeypatch.setattr(fork_mod, "_task_id", 1)
    squall.autoreload.watch(str(tmp_path))
    assert watcher.changed_file() is True
    assert watcher.stamps == {}


def test_checks_watched_files_and_module_sources(tmp_path, fresh, watcher):
    path = tmp_path / "w.txt"
    path.write_text("a", encoding="utf-8")
    squall.autoreload.watch(str(path))
    watcher.changed_file()
    assert str(path) in watcher.stamps
    assert os.path.abspath(_reloader.__file__) in {os.path.abspath(p) for p in watcher.stamps}


def test_restart_argv_keeps_interpreter_options(monkeypatch):
    monkeypatch.setattr(sys, "orig_argv", ["python", "-u", "-m", "pkg.mod", "x"], raising=False)
    assert _reloader._relaunch_args() == ["-u", "-m", "pkg.mod", "x"]


def test_restart_argv_without_orig_argv_rebuilds_dash_m(monkeypatch):
    main = types.ModuleType("__main__")
    main.__spec__ = types.SimpleNamespace(name="pkg.__main__")
    monkeypatch.setattr(sys, "orig_argv", [], raising=False)
    monkeypatch.setattr(sys, "argv", ["/path/pkg/__main__.py", "a", "b"])
    monkeypatch.setitem(sys.modules, "__main__", main)
    assert _reloader._relaunch_args() == ["-m", "pkg", "a", "b"]
    main.__spec__ = None
    assert _reloader._relaunch_args() == ["/path/pkg/__main__.py", "a", "b"]


def test_start_is_idempotent_per_loop():
    from squall.ioloop import IOLoop

    loop = IOLoop(make_current=False)

    async def twice():
        squall.autoreload.start(check_time=123)
        first = _reloader._watchers[IOLoop.current()]
        squall.autoreload.start(check_time=456)
        assert _reloader._watchers[IOLoop.current()] is first
        return first.interval

    try:
        assert loop.run_sync(twice) == 0.123
    finally:
        _reloader._watchers.pop(loop, None)
        loop.close()


def test_start_polls_then_stops_after_restarting(tmp_path, fresh, monkeypatch):
    from squall.ioloop import IOLoop

    restarts = []
    monkeypatch.setattr(_reloader, "_restart", lambda: restarts.append(1))
    path = tmp_path / "settings.cfg"
    path.write_text("a=1\n", encoding="utf-8")
    squall.autoreload.watch(str(path))

    async def main():
        squall.autoreload.start(check_time=10)
        watcher = _reloader._watchers[IOLoop.current()]
        for _ in range(1000):
            if str(path) in watcher.stamps:
                break
            await asyncio.sleep(0.01)
        touch_later(path)
        for _ in range(1000):
            if restarts:
                break
            await asyncio.sleep(0.01)
        # Several more periods: a watcher still polling would restart again.
        await asyncio.sleep(0.1)

    loop = IOLoop(make_current=False)
    try:
        loop.run_sync(main, timeout=30)
    finally:
        _reloader._watchers.pop(loop, None)
        loop.close()
    assert restarts == [1]


def test_wrapper_usage_error(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "squall.autoreload"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=60,
    )
    assert result.returncode == 1
    assert "Either -m or a path must be specified" in result.stderr


def test_wrapper_until_success_exits(tmp_path):
    (tmp_path / "ok.py").write_text("print('ran')\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "squall.autoreload", "--until-success", "ok.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=60,
    )
    assert result.returncode == 0
    assert result.stdout == "ran\n"


MARKER_SCRIPT = """\
import os, sys
with open({marker!r}, "a", encoding="utf-8") as f:
    f.write(f"{{os.getpid()}} {{sys.argv[1:]}}\\n")
"""


def test_wrapper_restarts_script_on_change(tmp_path, spawn):
    marker = tmp_path / "marker.txt"
    script = tmp_path / "script.py"
    script.write_text(MARKER_SCRIPT.format(marker=str(marker)), encoding="utf-8")
    proc = spawn(["-m", "squall.autoreload", "script.py", "a", "b"], cwd=tmp_path)
    first = wait_for_lines(marker, 1, proc)
    assert len(first) == 1
    # Give the watcher a chance to record the file before changing it.
    time.sleep(1.0)
    touch_later(script)
    lines = wait_for_lines(marker, 2, proc)
    assert len(lines) == 2, proc.stderr.read1().decode() if proc.poll() is not None else lines
    # execv keeps the pid; the script gets its own arguments both times.
    assert lines[0] == lines[1] == f"{proc.pid} ['a', 'b']"


def test_wrapper_waits_after_crash_and_reruns_fixed_script(tmp_path, spawn):
    marker = tmp_path / "marker.txt"
    script = tmp_path / "crash.py"
    script.write_text(
        MARKER_SCRIPT.format(marker=str(marker)) + "raise ValueError('broken')\n",
        encoding="utf-8",
    )
    proc = spawn(["-m", "squall.autoreload", "crash.py"], cwd=tmp_path)
    assert len(wait_for_lines(marker, 1, proc)) == 1
    time.sleep(1.0)
    assert proc.poll() is None  # still alive, waiting for a change
    script.write_text(MARKER_SCRIPT.format(marker=str(marker)) + "# fixed\n", encoding="utf-8")
    touch_later(script)
    assert len(wait_for_lines(marker, 2, proc)) == 2


def test_wrapper_runs_module(tmp_path, spawn):
    marker = tmp_path / "marker.txt"
    pkg = tmp_path / "mymod.py"
    pkg.write_text(MARKER_SCRIPT.format(marker=str(marker)), encoding="utf-8")
    proc = spawn(["-m", "squall.autoreload", "-m", "mymod", "x"], cwd=tmp_path)
    assert wait_for_lines(marker, 1, proc) == [f"{proc.pid} ['x']"]
    time.sleep(1.0)
    touch_later(pkg)
    assert len(wait_for_lines(marker, 2, proc)) == 2


SERVER_SCRIPT = """\
import os, sys
import squall.autoreload
from squall.ioloop import IOLoop

with open({marker!r}, "a", encoding="utf-8") as f:
    f.write(f"start {{os.getpid()}}\\n")
squall.autoreload.watch({watched!r})
squall.autoreload.add_reload_hook(lambda: open({hook!r}, "a").close())

async def main():
    squall.autoreload.start(check_time=50)
    await __import__("asyncio").Event().wait()

IOLoop.current().run_sync(main)
"""


def test_start_restarts_process_when_watched_file_changes(tmp_path, spawn):
    marker = tmp_path / "marker.txt"
    watched = tmp_path / "settings.cfg"
    hook = tmp_path / "hook-ran"
    watched.write_text("a=1\n", encoding="utf-8")
    script = tmp_path / "server.py"
    script.write_text(
        SERVER_SCRIPT.format(marker=str(marker), watched=str(watched), hook=str(hook)),
        encoding="utf-8",
    )
    proc = spawn(["server.py"], cwd=tmp_path)
    assert len(wait_for_lines(marker, 1, proc)) == 1
    time.sleep(0.5)
    touch_later(watched)
    lines = wait_for_lines(marker, 2, proc)
    assert lines == [f"start {proc.pid}", f"start {proc.pid}"]
    assert hook.exists()
