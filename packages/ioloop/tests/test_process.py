"""Tests for squall.process: fork_processes (in a child interpreter) and Subprocess."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
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


def test_fork_processes_zero_means_one_worker_per_cpu(tmp_path: Any) -> None:
    result = run_script(
        """
        import sys
        from squall.process import cpu_count, fork_processes
        tid = fork_processes(0)
        print("worker", tid, "of", cpu_count(), flush=True)
        sys.exit(0)
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("worker")]
    assert len(lines) == cpu_count()
    assert sorted(int(line.split()[1]) for line in lines) == list(range(cpu_count()))


def test_fork_processes_max_restarts_counts_replacements(tmp_path: Any) -> None:
    result = run_script(
        """
        import os, sys
        from squall.process import fork_processes
        try:
            fork_processes(1, max_restarts=2)
        except RuntimeError:
            sys.exit(7)
        print("run", flush=True)
        os._exit(1)
        """,
        tmp_path,
    )
    assert result.returncode == 7
    # The first worker and exactly two replacements ran.
    assert result.stdout.splitlines().count("run") == 3


def test_fork_processes_parent_exits_zero_when_workers_succeed(tmp_path: Any) -> None:
    result = run_script(
        """
        import sys
        from squall.process import fork_processes, task_id
        try:
            fork_processes(2)
        except SystemExit as e:
            print("parent exit", e.code, task_id(), flush=True)
            raise
        sys.exit(0)
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["parent exit 0 None"]


def test_subprocess_called_process_error_names_the_command() -> None:
    async def body() -> None:
        argv = [sys.executable, "-c", "raise SystemExit(2)"]
        proc = Subprocess(argv)
        with pytest.raises(CalledProcessError) as info:
            await proc.wait_for_exit()
        assert info.value.cmd == argv
        assert proc.returncode == 2

    run(body)


def test_subprocess_returncode_is_none_until_exit_is_seen() -> None:
    async def body() -> None:
        proc = Subprocess(
            [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=Subprocess.STREAM
        )
        assert proc.returncode is None
        assert proc.stdout is None and proc.stderr is None
        fut = proc.wait_for_exit()
        await asyncio.sleep(0.05)
        assert not fut.done() and proc.returncode is None
        proc.stdin.close()
        assert await fut == 0
        assert proc.returncode == 0

    run(body)


def test_subprocess_wait_for_exit_again_after_exit() -> None:
    async def body() -> None:
        proc = Subprocess([sys.executable, "-c", "raise SystemExit(6)"])
        assert await proc.wait_for_exit(raise_error=False) == 6
        # The status was collected already: the known code is reported again.
        assert await proc.wait_for_exit(raise_error=False) == 6
        with pytest.raises(CalledProcessError):
            await proc.wait_for_exit()

    run(body)


def test_subprocess_exit_callback_never_runs_inside_the_call() -> None:
    async def body() -> None:
        proc = Subprocess([sys.executable, "-c", "pass"])
        await proc.wait_for_exit()
        codes: list[int] = []
        proc.set_exit_callback(codes.append)
        assert codes == []
        await asyncio.sleep(0)
        assert codes == [0]

    run(body)


def test_subprocess_later_exit_callback_replaces_earlier() -> None:
    async def body() -> None:
        proc = Subprocess(
            [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=Subprocess.STREAM
        )
        first: list[int] = []
        second: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        proc.set_exit_callback(first.append)
        proc.set_exit_callback(second.set_result)
        proc.stdin.close()
        assert await second == 0
        assert first == []

    run(body)


def test_subprocess_cancelled_wait_for_exit_is_left_alone() -> None:
    async def body() -> None:
        loop = asyncio.get_running_loop()
        errors: list[dict[str, Any]] = []
        loop.set_exception_handler(lambda _loop, context: errors.append(context))
        proc = Subprocess([sys.executable, "-c", "raise SystemExit(1)"])
        fut = proc.wait_for_exit()
        fut.cancel()
        while proc.returncode is None:
            await asyncio.sleep(0.01)
        assert fut.cancelled()
        assert proc.returncode == 1
        assert errors == []

    run(body)


def test_subprocess_status_taken_by_popen_wait_is_reported() -> None:
    async def body() -> None:
        proc = Subprocess([sys.executable, "-c", "raise SystemExit(9)"])
        proc.proc.wait()  # Popen collects the status itself
        assert await proc.wait_for_exit(raise_error=False) == 9

    run(body)


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd")
def test_subprocess_failed_start_closes_its_pipes() -> None:
    async def body() -> None:
        before = set(os.listdir("/proc/self/fd"))
        with pytest.raises(FileNotFoundError):
            Subprocess(
                ["/nonexistent/squall-no-such-program"],
                stdin=Subprocess.STREAM,
                stdout=Subprocess.STREAM,
                stderr=Subprocess.STREAM,
            )
        assert set(os.listdir("/proc/self/fd")) <= before

    run(body)


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd")
def test_subprocess_parent_keeps_only_its_own_pipe_ends() -> None:
    async def body() -> None:
        before = set(os.listdir("/proc/self/fd"))
        proc = Subprocess(
            [sys.executable, "-c", "pass"], stdout=Subprocess.STREAM, stderr=Subprocess.STREAM
        )
        # One descriptor per stream; the child's ends were closed here.
        assert len(set(os.listdir("/proc/self/fd")) - before) == 2
        await proc.wait_for_exit()
        proc.stdout.close()
        proc.stderr.close()

    run(body)


def test_subprocess_initialize_moves_to_a_new_loop_after_the_old_one_closed() -> None:
    async def first() -> int:
        proc = Subprocess([sys.executable, "-c", "raise SystemExit(3)"])
        return await proc.wait_for_exit(raise_error=False)

    async def second() -> int:
        # No uninitialize() in between: the handler's loop is closed by now.
        proc = Subprocess([sys.executable, "-c", "raise SystemExit(4)"])
        return await asyncio.wait_for(proc.wait_for_exit(raise_error=False), 10)

    assert asyncio.run(first()) == 3
    try:
        assert asyncio.run(second()) == 4
    finally:

        async def cleanup() -> None:
            Subprocess.uninitialize()

        asyncio.run(cleanup())


def _run_forking(
    tmp_path: Any, source: str, *, sigterm_when_ready: int = 0
) -> tuple[int, str, str]:
    """Run ``source`` (a script calling fork_processes) in its own session: (status, out, err).

    With ``sigterm_when_ready``, the parent alone gets SIGTERM once that many
    workers wrote their ``ready-<task>`` files. Whatever is left is killed.
    """
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(source))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=str(tmp_path),
        env=env,
        start_new_session=True,
    )
    try:
        if sigterm_when_ready:
            ready = [tmp_path / f"ready-{task}" for task in range(sigterm_when_ready)]
            for _ in range(1000):
                if all(path.exists() for path in ready):
                    break
                time.sleep(0.01)
            proc.send_signal(signal.SIGTERM)  # the parent only
        out, err = proc.communicate(timeout=20)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()  # no pipe left open after a failure
    return proc.returncode, out, err


def test_a_sigterm_while_the_workers_start_stops_the_start(tmp_path: Any) -> None:
    # The parent gets SIGTERM right after forking worker 0 (here it sends it to itself):
    # worker 0 gets it passed on, worker 1 is never started, and the parent exits 0.
    returncode, out, err = _run_forking(
        tmp_path,
        """
        import os, signal, sys, time
        from squall.process import fork_processes
        real_fork = os.fork
        parent = os.getpid()
        def fork():
            pid = real_fork()
            if pid and os.getpid() == parent:
                os.kill(parent, signal.SIGTERM)  # arrives while SIGTERM is blocked
            return pid
        os.fork = fork
        tid = fork_processes(2)
        open("ready-%d" % tid, "w").close()
        for _ in range(3000):
            time.sleep(0.01)
        print("worker %d never got SIGTERM" % tid, flush=True)
        """,
    )
    assert returncode == 0, err
    assert "never got SIGTERM" not in out, (out, err)
    assert not (tmp_path / "ready-1").exists()
    assert "starting it again" not in err


def test_fork_processes_parent_passes_sigterm_on(tmp_path: Any) -> None:
    # A SIGTERM to the parent alone reaches every worker (each drains and says so), nothing is
    # restarted (worker 1 even dies of the signal), and the parent then exits with status 0.
    returncode, out, err = _run_forking(
        tmp_path,
        """
        import os, signal, sys, time
        from squall.process import fork_processes
        tid = fork_processes(2)
        if tid == 0:
            def drained(signum, frame):
                print("worker 0 drained", flush=True)
                sys.exit(0)
            signal.signal(signal.SIGTERM, drained)
        open("ready-%d" % tid, "w").close()
        for _ in range(3000):
            time.sleep(0.01)
        print("worker %d never got SIGTERM" % tid, flush=True)
        """,
        sigterm_when_ready=2,
    )
    assert returncode == 0, err
    assert out.splitlines() == ["worker 0 drained"], (out, err)
    assert "starting it again" not in err
