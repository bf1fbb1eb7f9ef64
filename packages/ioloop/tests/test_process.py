"""Tests for squall.process: fork_processes (in a child interpreter) and Subprocess."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from squall.iostream import PipeIOStream, StreamClosedError
from squall.process import CalledProcessError, Subprocess, cpu_count, fork_processes, task_id

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="Unix only")


def run(body: Callable[[], Awaitable[Any]]) -> Any:
    async def wrapped() -> Any:
        try:
            return await asyncio.wait_for(body(), 10)
        finally:
            Subprocess.uninitialize()

    return asyncio.run(wrapped())


def run_script(source: str, tmp_path: Any) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(source))
    # Unbuffered, print() writes its pieces one by one and the workers' lines interleave.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    return subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=str(tmp_path),
        env=env,
    )


def test_cpu_count_positive() -> None:
    assert cpu_count() >= 1


def test_task_id_is_none_outside_children() -> None:
    assert task_id() is None


def test_fork_processes_children_report_task_ids(tmp_path: Any) -> None:
    result = run_script(
        """
        import sys
        from squall.process import fork_processes, task_id
        tid = fork_processes(2)
        assert tid == task_id()
        print("child", tid, flush=True)
        sys.exit(0)
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    lines = sorted(line for line in result.stdout.splitlines() if line.startswith("child"))
    assert lines == ["child 0", "child 1"]


def test_fork_processes_restarts_failed_child_with_same_id(tmp_path: Any) -> None:
    result = run_script(
        """
        import os, sys
        from squall.process import fork_processes
        tid = fork_processes(2)
        marker = "marker-%d" % tid
        if tid == 1 and not os.path.exists(marker):
            open(marker, "w").close()
            print("fail", tid, flush=True)
            os._exit(3)
        print("ok", tid, flush=True)
        sys.exit(0)
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "fail 1" in lines
    assert sorted(line for line in lines if line.startswith("ok")) == ["ok 0", "ok 1"]


def test_fork_processes_gives_up_after_max_restarts(tmp_path: Any) -> None:
    result = run_script(
        """
        import os, sys
        from squall.process import fork_processes
        try:
            tid = fork_processes(1, max_restarts=2)
        except RuntimeError as e:
            print("parent:", e, flush=True)
            sys.exit(7)
        os._exit(1)
        """,
        tmp_path,
    )
    assert result.returncode == 7
    assert "Too many child restarts" in result.stdout


def test_fork_processes_restarts_child_killed_by_signal(tmp_path: Any) -> None:
    result = run_script(
        """
        import os, signal, sys
        from squall.process import fork_processes
        tid = fork_processes(1)
        if not os.path.exists("killed"):
            open("killed", "w").close()
            os.kill(os.getpid(), signal.SIGKILL)
        print("survivor", tid, flush=True)
        sys.exit(0)
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "survivor 0" in result.stdout


def test_subprocess_stdout_stream_and_exit_code() -> None:
    async def body() -> None:
        proc = Subprocess(
            [sys.executable, "-c", "print('hello from child')"], stdout=Subprocess.STREAM
        )
        assert isinstance(proc.stdout, PipeIOStream)
        data = await proc.stdout.read_until_close()
        assert data.strip() == b"hello from child"
        assert await proc.wait_for_exit() == 0
        assert proc.returncode == 0

    run(body)


def test_subprocess_stdin_roundtrip() -> None:
    async def body() -> None:
        proc = Subprocess(
            [sys.executable, "-c", "import sys; sys.stdout.write(sys.stdin.read().upper())"],
            stdin=Subprocess.STREAM,
            stdout=Subprocess.STREAM,
        )
        await proc.stdin.write(b"shout\n")
        proc.stdin.close()
        assert await proc.stdout.read_until_close() == b"SHOUT\n"
        assert await proc.wait_for_exit() == 0

    run(body)


def test_subprocess_stderr_stream() -> None:
    async def body() -> None:
        proc = Subprocess(
            [sys.executable, "-c", "import sys; sys.stderr.write('oops')"],
            stderr=Subprocess.STREAM,
        )
        assert await proc.stderr.read_until_close() == b"oops"
        assert proc.stdout is None
        await proc.wait_for_exit()

    run(body)


def test_subprocess_wait_for_exit_raises_called_process_error() -> None:
    async def body() -> None:
        proc = Subprocess([sys.executable, "-c", "raise SystemExit(3)"])
        with pytest.raises(CalledProcessError) as info:
            await proc.wait_for_exit()
        assert info.value.returncode == 3

    run(body)


def test_subprocess_wait_for_exit_without_raise() -> None:
    async def body() -> None:
        proc = Subprocess([sys.executable, "-c", "raise SystemExit(4)"])
        assert await proc.wait_for_exit(raise_error=False) == 4

    run(body)


def test_subprocess_exit_callback_gets_return_code() -> None:
    async def body() -> None:
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        proc = Subprocess([sys.executable, "-c", "raise SystemExit(5)"])
        proc.set_exit_callback(done.set_result)
        assert await done == 5
        assert proc.returncode == 5

    run(body)


def test_subprocess_exit_callback_after_process_already_exited() -> None:
    async def body() -> None:
        proc = Subprocess([sys.executable, "-c", "pass"], stdout=Subprocess.STREAM)
        await proc.stdout.read_until_close()
        await asyncio.sleep(0.05)  # the child has very likely exited
        assert await proc.wait_for_exit() == 0

    run(body)


def test_subprocess_killed_by_signal_reports_negative_code() -> None:
    async def body() -> None:
        proc = Subprocess([sys.executable, "-c", "import time; time.sleep(30)"])
        fut = proc.wait_for_exit(raise_error=False)
        os.kill(proc.pid, signal.SIGTERM)
        assert await fut == -signal.SIGTERM

    run(body)


def test_subprocess_concurrent_children() -> None:
    async def body() -> None:
        procs = [Subprocess([sys.executable, "-c", f"raise SystemExit({i})"]) for i in range(4)]
        codes = await asyncio.gather(*(p.wait_for_exit(raise_error=False) for p in procs))
        assert codes == [0, 1, 2, 3]

    run(body)


def test_subprocess_stream_closed_after_exit() -> None:
    async def body() -> None:
        proc = Subprocess([sys.executable, "-c", "pass"], stdout=Subprocess.STREAM)
        await proc.wait_for_exit()
        assert await proc.stdout.read_until_close() == b""
        with pytest.raises(StreamClosedError):
            await proc.stdout.read_bytes(1)

    run(body)


def test_subprocess_pid_and_proc() -> None:
    async def body() -> None:
        proc = Subprocess([sys.executable, "-c", "pass"])
        assert proc.pid == proc.proc.pid
        await proc.wait_for_exit()
        assert proc.proc.returncode == 0

    run(body)


def test_initialize_is_idempotent_and_uninitialize_removes_handler() -> None:
    async def body() -> None:
        assert signal.getsignal(signal.SIGCHLD) == signal.SIG_DFL
        Subprocess.initialize()
        Subprocess.initialize()
        assert signal.getsignal(signal.SIGCHLD) != signal.SIG_DFL
        Subprocess.uninitialize()
        assert signal.getsignal(signal.SIGCHLD) == signal.SIG_DFL
        Subprocess.uninitialize()  # a second call is harmless

    run(body)


def test_fork_processes_refuses_in_forked_child(monkeypatch: pytest.MonkeyPatch) -> None:
    import squall.process._fork as fork_mod

    monkeypatch.setattr(fork_mod, "_task_id", 0)
    with pytest.raises(RuntimeError):
        fork_processes(2)
