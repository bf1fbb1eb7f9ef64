"""Tests for squall.autoreload: in-process helpers, and real restarts of child processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time

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


def test_watch_adds_file(monkeypatch):
    monkeypatch.setattr(_reloader, "_watched_files", set())
    squall.autoreload.watch("/some/file.cfg")
    assert "/some/file.cfg" in _reloader._watched_files


def test_add_reload_hook_runs_before_exec(monkeypatch):
    calls = []
    monkeypatch.setattr(_reloader, "_reload_hooks", [])
    monkeypatch.setattr(_reloader, "_reload_attempted", False)
    monkeypatch.setattr(os, "execv", lambda exe, argv: calls.append(("execv", exe, argv)))
    squall.autoreload.add_reload_hook(lambda: calls.append("hook"))
    _reloader._reload()
    assert calls[0] == "hook"
    assert calls[1][0] == "execv" and calls[1][1] == sys.executable
    assert _reloader._reload_attempted is True


def test_check_file_first_sight_records_then_detects_change(tmp_path, monkeypatch):
    reloads = []
    monkeypatch.setattr(_reloader, "_reload", lambda: reloads.append(1))
    path = tmp_path / "f.txt"
    path.write_text("a", encoding="utf-8")
    times: dict = {}
    assert _reloader._check_file(times, str(path)) is False
    assert _reloader._check_file(times, str(path)) is False
    touch_later(path)
    assert _reloader._check_file(times, str(path)) is True
    assert reloads == [1]


def test_check_file_missing_is_ignored(tmp_path):
    assert _reloader._check_file({}, str(tmp_path / "missing")) is False


def test_reload_on_update_stops_after_attempt(tmp_path, monkeypatch):
    reloads = []
    monkeypatch.setattr(_reloader, "_reload", lambda: reloads.append(1))
    monkeypatch.setattr(_reloader, "_reload_attempted", True)
    path = tmp_path / "w.txt"
    path.write_text("a", encoding="utf-8")
    monkeypatch.setattr(_reloader, "_watched_files", {str(path)})
    times: dict = {}
    _reloader._reload_on_update(times)
    assert times == {}


def test_reload_on_update_checks_watched_and_modules(tmp_path, monkeypatch):
    monkeypatch.setattr(_reloader, "_reload_attempted", False)
    path = tmp_path / "w.txt"
    path.write_text("a", encoding="utf-8")
    monkeypatch.setattr(_reloader, "_watched_files", {str(path)})
    times: dict = {}
    _reloader._reload_on_update(times)
    assert str(path) in times
    assert os.path.abspath(_reloader.__file__) in {os.path.abspath(p) for p in times}


def test_restart_argv_keeps_interpreter_options(monkeypatch):
    monkeypatch.setattr(sys, "orig_argv", ["python", "-u", "-m", "pkg.mod", "x"], raising=False)
    assert _reloader._restart_argv() == ["-u", "-m", "pkg.mod", "x"]


def test_start_is_idempotent_per_loop(monkeypatch):
    from squall.ioloop import IOLoop

    loop = IOLoop(make_current=False)
    started = []

    class FakePeriodic:
        def __init__(self, callback, interval):
            started.append(interval)

        def start(self):
            pass

    import squall.ioloop

    monkeypatch.setattr(squall.ioloop, "PeriodicCallback", FakePeriodic)
    try:

        async def twice():
            squall.autoreload.start(check_time=123)
            squall.autoreload.start(check_time=123)

        loop.run_sync(twice)
    finally:
        _reloader._io_loops.pop(loop, None)
        loop.close()
    assert started == [123]


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
