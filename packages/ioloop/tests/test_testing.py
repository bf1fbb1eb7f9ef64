"""Tests for squall.testing: AsyncTestCase, gen_test, ExpectLog, helpers, HTTP cases."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import socket
import ssl
import subprocess
import sys
import unittest

import pytest
import squall.testing
from squall.ioloop import IOLoop
from squall.log import app_log
from squall.testing import (
    AsyncHTTPSTestCase,
    AsyncHTTPTestCase,
    AsyncTestCase,
    ExpectLog,
    bind_unused_port,
    gen_test,
    get_async_test_timeout,
)


def run_case(case_class, name):
    """Run one test method of ``case_class``; return the unittest result."""
    result = unittest.TestResult()
    case_class(name).run(result)
    return result


def outcome(result):
    if result.errors:
        return "error", result.errors[0][1]
    if result.failures:
        return "failure", result.failures[0][1]
    assert result.testsRun == 1
    return "ok", ""


# -- AsyncTestCase used directly by pytest ---------------------------------------------------


class AsyncTestCaseUnderPytest(AsyncTestCase):
    def test_io_loop_is_current(self):
        assert IOLoop.current() is self.io_loop

    def test_asyncio_loop_is_set(self):
        assert asyncio.get_event_loop() is self.io_loop.asyncio_loop

    def test_stop_wait_round_trip(self):
        self.io_loop.add_callback(self.stop, "value")
        assert self.wait() == "value"

    @gen_test
    async def test_gen_test_coroutine(self):
        await asyncio.sleep(0)
        self.ran = True
        assert self.ran

    @gen_test(timeout=3)
    def test_gen_test_generator(self):
        from squall import gen

        yield gen.moment
        value = yield asyncio.sleep(0, result=7)
        assert value == 7


# -- stop / wait -------------------------------------------------------------------------------


def test_wait_returns_stop_argument():
    class Case(AsyncTestCase):
        def test_it(self):
            self.io_loop.add_callback(lambda: self.stop(42))
            self.got = self.wait()
            assert self.got == 42

    assert outcome(run_case(Case, "test_it"))[0] == "ok"


def test_wait_returns_stop_keywords():
    class Case(AsyncTestCase):
        def test_it(self):
            self.io_loop.add_callback(lambda: self.stop(a=1, b=2))
            assert self.wait() == {"a": 1, "b": 2}

    assert outcome(run_case(Case, "test_it"))[0] == "ok"


def test_stop_before_wait_returns_immediately():
    class Case(AsyncTestCase):
        def test_it(self):
            self.stop("early")
            assert self.wait() == "early"

    assert outcome(run_case(Case, "test_it"))[0] == "ok"


def test_last_stop_wins():
    class Case(AsyncTestCase):
        def test_it(self):
            self.io_loop.add_callback(lambda: (self.stop(1), self.stop(2)))
            assert self.wait() == 2

    assert outcome(run_case(Case, "test_it"))[0] == "ok"


def test_wait_condition_keeps_running():
    class Case(AsyncTestCase):
        def test_it(self):
            count = [0]

            def tick():
                count[0] += 1
                self.stop()
                if count[0] < 3:
                    self.io_loop.add_callback(tick)

            self.io_loop.add_callback(tick)
            self.wait(condition=lambda: count[0] >= 3)
            assert count[0] == 3

    assert outcome(run_case(Case, "test_it"))[0] == "ok"


def test_wait_timeout_fails_test():
    class Case(AsyncTestCase):
        def test_it(self):
            self.wait(timeout=0.01)

    kind, text = outcome(run_case(Case, "test_it"))
    assert kind == "failure"
    assert "Async operation timed out after 0.01 seconds" in text


def test_wait_can_be_repeated():
    class Case(AsyncTestCase):
        def test_it(self):
            for i in range(3):
                self.io_loop.add_callback(self.stop, i)
                assert self.wait() == i

    assert outcome(run_case(Case, "test_it"))[0] == "ok"


# -- loop lifecycle --------------------------------------------------------------------------


def test_fresh_loop_per_test_and_closed_after():
    loops = []

    class Case(AsyncTestCase):
        def test_a(self):
            loops.append(self.io_loop)

        def test_b(self):
            loops.append(self.io_loop)

    run_case(Case, "test_a")
    run_case(Case, "test_b")
    assert loops[0] is not loops[1]
    assert all(loop.asyncio_loop.is_closed() for loop in loops)


def test_get_new_ioloop_hook_is_used():
    made = []

    class Case(AsyncTestCase):
        def get_new_ioloop(self):
            loop = IOLoop(make_current=False)
            made.append(loop)
            return loop

        def test_it(self):
            assert self.io_loop is made[0]

    assert outcome(run_case(Case, "test_it"))[0] == "ok"
    assert made[0].asyncio_loop.is_closed()


def test_pending_tasks_are_cancelled_without_warnings():
    cancelled = []

    class Case(AsyncTestCase):
        def test_it(self):
            async def forever():
                self.stop()
                try:
                    await asyncio.sleep(100)
                except asyncio.CancelledError:
                    cancelled.append(True)
                    raise

            self.io_loop.add_callback(forever)
            self.wait()

    assert outcome(run_case(Case, "test_it"))[0] == "ok"
    assert cancelled == [True]


def test_event_loop_restored_after_test():
    outer = asyncio.new_event_loop()
    asyncio.set_event_loop(outer)
    try:

        class Case(AsyncTestCase):
            def test_it(self):
                assert asyncio.get_event_loop() is not outer

        assert outcome(run_case(Case, "test_it"))[0] == "ok"
        assert asyncio.get_event_loop() is outer
    finally:
        asyncio.set_event_loop(None)
        outer.close()


# -- failures ----------------------------------------------------------------------------------


def test_exception_in_callback_fails_test():
    class Case(AsyncTestCase):
        def test_it(self):
            def boom():
                raise ValueError("in callback")

            self.io_loop.add_callback(boom)
            self.io_loop.call_later(5, self.stop)
            self.wait()

    kind, text = outcome(run_case(Case, "test_it"))
    assert kind == "error"
    assert "ValueError: in callback" in text


def test_exception_in_callback_after_last_wait_fails_in_teardown():
    class Case(AsyncTestCase):
        @gen_test
        async def test_it(self):
            async def boom():
                raise KeyError("spawned")

            self.io_loop.spawn_callback(boom)
            await asyncio.sleep(0.01)

    kind, text = outcome(run_case(Case, "test_it"))
    assert kind == "error"
    assert "KeyError: 'spawned'" in text


def test_exception_in_raw_asyncio_callback_fails_test():
    class Case(AsyncTestCase):
        def test_it(self):
            def boom():
                raise RuntimeError("raw asyncio")

            self.io_loop.asyncio_loop.call_soon(boom)
            self.io_loop.call_later(5, self.stop)
            self.wait()

    kind, text = outcome(run_case(Case, "test_it"))
    assert kind == "error"
    assert "RuntimeError: raw asyncio" in text


def test_expected_callback_error_in_expectlog_passes():
    class Case(AsyncTestCase):
        def test_it(self):
            def boom():
                raise ValueError("expected")

            with ExpectLog(app_log, "Exception in callback"):
                self.io_loop.add_callback(boom)
                self.io_loop.add_callback(self.stop)
                self.wait()

    assert outcome(run_case(Case, "test_it"))[0] == "ok"


def test_undecorated_coroutine_method_is_type_error():
    class Case(AsyncTestCase):
        async def test_it(self):
            pass

    kind, text = outcome(run_case(Case, "test_it"))
    assert kind == "error"
    assert "TypeError: Generator and coroutine test methods should be decorated" in text


def test_undecorated_generator_method_is_type_error():
    class Case(AsyncTestCase):
        def test_it(self):
            yield None

    kind, text = outcome(run_case(Case, "test_it"))
    assert kind == "error" and "TypeError" in text


# -- gen_test ----------------------------------------------------------------------------------


def test_gen_test_runs_coroutine():
    ran = []

    class Case(AsyncTestCase):
        @gen_test
        async def test_it(self):
            await asyncio.sleep(0)
            ran.append(IOLoop.current() is self.io_loop)

    assert outcome(run_case(Case, "test_it"))[0] == "ok"
    assert ran == [True]


def test_gen_test_exception_propagates():
    class Case(AsyncTestCase):
        @gen_test
        async def test_it(self):
            raise KeyError("inside")

    kind, text = outcome(run_case(Case, "test_it"))
    assert kind == "error" and "KeyError: 'inside'" in text


def test_gen_test_assertion_is_failure():
    class Case(AsyncTestCase):
        @gen_test
        async def test_it(self):
            self.assertEqual(1, 2)

    assert outcome(run_case(Case, "test_it"))[0] == "failure"


def test_gen_test_timeout():
    class Case(AsyncTestCase):
        @gen_test(timeout=0.05)
        async def test_it(self):
            await asyncio.sleep(30)

    kind, text = outcome(run_case(Case, "test_it"))
    assert kind == "error"
    assert "Operation timed out after 0.05 seconds" in text


def test_gen_test_timeout_from_environment(monkeypatch):
    monkeypatch.setenv("ASYNC_TEST_TIMEOUT", "0.05")

    class Case(AsyncTestCase):
        @gen_test
        async def test_it(self):
            await asyncio.sleep(30)

    kind, text = outcome(run_case(Case, "test_it"))
    assert "timed out after 0.05 seconds" in text


def test_gen_test_return_value_rejected():
    class Case(AsyncTestCase):
        @gen_test
        async def test_it(self):
            return 5

    kind, text = outcome(run_case(Case, "test_it"))
    assert kind == "error" and "Return value from test method ignored: 5" in text


def test_gen_test_keeps_name_and_doc():
    class Case(AsyncTestCase):
        @gen_test
        async def test_it(self):
            """Docstring."""

    assert Case.test_it.__name__ == "test_it"
    assert Case.test_it.__doc__ == "Docstring."


def test_gen_test_passes_arguments():
    got = []

    class Case(AsyncTestCase):
        @gen_test
        async def helper(self, a, b=0):
            got.append((a, b))

        def test_it(self):
            self.helper(1, b=2)

    assert outcome(run_case(Case, "test_it"))[0] == "ok"
    assert got == [(1, 2)]


# -- ExpectLog -----------------------------------------------------------------------------------


@pytest.fixture
def quiet_logger():
    logger = logging.getLogger("squall.test.expectlog")
    logger.propagate = False
    handler = logging.NullHandler()
    logger.addHandler(handler)
    yield logger
    logger.removeHandler(handler)
    logger.propagate = True
    logger.setLevel(logging.NOTSET)


def test_expectlog_swallows_match(quiet_logger):
    seen = []
    quiet_logger.addFilter(lambda r: seen.append(r.getMessage()) or True)
    with ExpectLog(quiet_logger, "hello") as expect:
        quiet_logger.error("hello world")
        quiet_logger.error("other")
    assert expect.matched == 1
    assert seen == [] or "other" in seen


def test_expectlog_lets_other_messages_through(quiet_logger):
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    keep = Keep()
    quiet_logger.addHandler(keep)
    try:
        with ExpectLog(quiet_logger, "hello"):
            quiet_logger.error("hello")
            quiet_logger.error("other")
    finally:
        quiet_logger.removeHandler(keep)
    assert records == ["other"]


def test_expectlog_required_raises(quiet_logger):
    with pytest.raises(Exception, match="did not get expected log message"):
        with ExpectLog(quiet_logger, "never"):
            pass


def test_expectlog_not_required(quiet_logger):
    with ExpectLog(quiet_logger, "never", required=False) as expect:
        pass
    assert expect.matched == 0


def test_expectlog_exception_inside_propagates(quiet_logger):
    with pytest.raises(KeyError):
        with ExpectLog(quiet_logger, "never"):
            raise KeyError("inner")


def test_expectlog_uses_match_not_search(quiet_logger):
    with ExpectLog(quiet_logger, "ell", required=False) as expect:
        quiet_logger.error("hello")
    assert expect.matched == 0


def test_expectlog_by_name(quiet_logger):
    with ExpectLog("squall.test.expectlog", "x") as expect:
        quiet_logger.error("x")
    assert expect.logger is quiet_logger


def test_expectlog_logged_stack(quiet_logger):
    with ExpectLog(quiet_logger, "failed") as expect:
        try:
            raise ValueError
        except ValueError:
            quiet_logger.exception("failed")
    assert expect.logged_stack is True


def test_expectlog_level_lowers_logger_level(quiet_logger):
    quiet_logger.setLevel(logging.WARNING)
    with ExpectLog(quiet_logger, "dbg", level=logging.DEBUG) as expect:
        assert quiet_logger.level == logging.DEBUG
        quiet_logger.debug("dbg")
    assert expect.matched == 1
    assert quiet_logger.level == logging.WARNING


def test_expectlog_wrong_level_not_swallowed(quiet_logger):
    with ExpectLog(app_log, "Got expected log message", required=True):
        with ExpectLog(quiet_logger, "hello", level=logging.INFO, required=False) as expect:
            quiet_logger.error("hello")
    assert expect.matched == 0


def test_expectlog_counts_low_level_matches_without_level(quiet_logger):
    quiet_logger.setLevel(logging.DEBUG)
    with ExpectLog(quiet_logger, "i") as expect:
        quiet_logger.info("info")
    assert (expect.matched, expect.deprecated_level_matched) == (1, 1)


# -- helpers ---------------------------------------------------------------------------------------


def test_bind_unused_port():
    sock, port = bind_unused_port()
    try:
        assert sock.getsockname() == ("127.0.0.1", port)
        assert sock.getblocking() is False
        assert sock.family == socket.AF_INET
        client = socket.create_connection(("127.0.0.1", port), timeout=5)
        client.close()
    finally:
        sock.close()


def test_bind_unused_port_reuse_port():
    if not hasattr(socket, "SO_REUSEPORT"):
        pytest.skip("no SO_REUSEPORT")
    sock, port = bind_unused_port(reuse_port=True)
    try:
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) != 0
        assert port > 0
    finally:
        sock.close()


def test_bind_unused_port_gives_distinct_ports():
    a, port_a = bind_unused_port()
    b, port_b = bind_unused_port()
    a.close()
    b.close()
    assert port_a != port_b


def test_get_async_test_timeout_default(monkeypatch):
    monkeypatch.delenv("ASYNC_TEST_TIMEOUT", raising=False)
    assert get_async_test_timeout() == 5


def test_get_async_test_timeout_env(monkeypatch):
    monkeypatch.setenv("ASYNC_TEST_TIMEOUT", "2.5")
    assert get_async_test_timeout() == 2.5


def test_get_async_test_timeout_bad_env(monkeypatch):
    monkeypatch.setenv("ASYNC_TEST_TIMEOUT", "soon")
    assert get_async_test_timeout() == 5


def test_setup_with_context_manager():
    events = []

    class CM:
        def __enter__(self):
            events.append("enter")
            return "v"

        def __exit__(self, *exc):
            events.append("exit")

    class Case(unittest.TestCase):
        def setUp(self):
            self.value = squall.testing.setup_with_context_manager(self, CM())

        def test_it(self):
            events.append(self.value)

    assert run_case(Case, "test_it").wasSuccessful()
    assert events == ["enter", "v", "exit"]


def test_public_interface():
    assert set(squall.testing.__all__) >= {
        "AsyncTestCase",
        "AsyncHTTPTestCase",
        "AsyncHTTPSTestCase",
        "ExpectLog",
        "gen_test",
        "bind_unused_port",
        "get_async_test_timeout",
        "main",
    }


# -- HTTP test cases (server/client come from other distributions) -------------------------------


@pytest.fixture
def no_http_dists(monkeypatch):
    monkeypatch.setitem(sys.modules, "squall.httpserver", None)
    monkeypatch.setitem(sys.modules, "squall.httpclient", None)


def test_http_case_without_dists_names_them(no_http_dists):
    class Case(AsyncHTTPTestCase):
        def get_app(self):
            return object()

        def test_it(self):
            pass

    kind, text = outcome(run_case(Case, "test_it"))
    assert kind == "error"
    assert (
        "ImportError: AsyncHTTPTestCase needs squall-httpserver and squall-httpclient: "
        "pip install squall-httpserver squall-httpclient"
    ) in text


def test_https_case_without_dists_names_them(no_http_dists):
    class Case(AsyncHTTPSTestCase):
        def test_it(self):
            pass

    kind, text = outcome(run_case(Case, "test_it"))
    assert "AsyncHTTPSTestCase needs squall-httpserver and squall-httpclient" in text


def test_http_case_url_helpers_without_server():
    case = AsyncHTTPTestCase("get_app")
    case._AsyncHTTPTestCase__port = 8123
    assert case.get_protocol() == "http"
    assert case.get_url("/a?b=1") == "http://127.0.0.1:8123/a?b=1"
    assert case.get_http_port() == 8123
    assert case.get_httpserver_options() == {}
    with pytest.raises(NotImplementedError):
        case.get_app()


def test_https_case_options():
    case = AsyncHTTPSTestCase("get_app")
    case._AsyncHTTPTestCase__port = 8443
    assert case.get_protocol() == "https"
    assert case.get_url("/") == "https://127.0.0.1:8443/"
    options = case.get_httpserver_options()
    assert options == {"ssl_options": AsyncHTTPSTestCase.default_ssl_options()}


def test_shipped_certificate_loads_and_serves_tls():
    paths = AsyncHTTPSTestCase.default_ssl_options()
    assert os.path.isfile(paths["certfile"]) and os.path.isfile(paths["keyfile"])
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(paths["certfile"], paths["keyfile"])
    client_ctx = ssl.create_default_context(cafile=paths["certfile"])
    listener, port = bind_unused_port()
    listener.setblocking(True)
    try:
        raw = socket.create_connection(("127.0.0.1", port), timeout=5)
        conn, _ = listener.accept()
        conn.settimeout(5)
        import threading

        def serve():
            with server_ctx.wrap_socket(conn, server_side=True) as tls:
                tls.sendall(tls.recv(5))

        thread = threading.Thread(target=serve)
        thread.start()
        # Verifies hostname "localhost" and the IP SAN against the shipped CA.
        with client_ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(b"hello")
            assert tls.recv(5) == b"hello"
            assert tls.getpeercert()["subjectAltName"] == (
                ("DNS", "localhost"),
                ("IP Address", "127.0.0.1"),
            )
        thread.join(5)
    finally:
        listener.close()


# -- main() --------------------------------------------------------------------------------------


def _child_env():
    return dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))


def test_main_runs_named_tests(tmp_path):
    (tmp_path / "mytests.py").write_text(
        "import unittest\n"
        "class T(unittest.TestCase):\n"
        "    def test_ok(self): pass\n"
        "    def test_other(self): pass\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-m", "squall.testing", "mytests.T.test_ok", "--verbose"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=_child_env(),
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert re.search(r"test_ok \(mytests\.T.*\) \.\.\. ok", result.stderr)
    assert "Ran 1 test" in result.stderr


def test_main_verbose_and_all(tmp_path):
    (tmp_path / "runner.py").write_text(
        "import unittest\n"
        "from squall.testing import main\n"
        "class T(unittest.TestCase):\n"
        "    def test_ok(self): pass\n"
        "def all():\n"
        "    return unittest.defaultTestLoader.loadTestsFromTestCase(T)\n"
        "if __name__ == '__main__':\n"
        "    main()\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "runner.py", "--verbose"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=_child_env(),
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert re.search(r"test_ok \(__main__\.T.*\) \.\.\. ok", result.stderr)
    assert "Ran 1 test" in result.stderr


def test_main_failure_exit_code(tmp_path):
    (tmp_path / "bad.py").write_text(
        "import unittest\nclass T(unittest.TestCase):\n    def test_no(self): self.fail('x')\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-m", "squall.testing", "bad"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=_child_env(),
        timeout=60,
    )
    assert result.returncode == 1
    assert "FAILED (failures=1)" in result.stderr


def test_main_without_tests(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "squall.testing"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=_child_env(),
        timeout=60,
    )
    assert result.returncode == 1
    assert "No tests specified" in result.stderr


# -- rewrite: behaviour pinned by the clean-room rewrite -------------------------------------------


def test_wait_timeout_message_says_how_to_raise_it():
    class Case(AsyncTestCase):
        def test_it(self):
            self.wait(timeout=0.01)

    kind, text = outcome(run_case(Case, "test_it"))
    assert kind == "failure"
    assert "wait(timeout=...)" in text and "ASYNC_TEST_TIMEOUT" in text


def test_wait_default_timeout_comes_from_environment(monkeypatch):
    monkeypatch.setenv("ASYNC_TEST_TIMEOUT", "0.02")

    class Case(AsyncTestCase):
        def test_it(self):
            self.wait()

    kind, text = outcome(run_case(Case, "test_it"))
    assert kind == "failure"
    assert "timed out after 0.02 seconds" in text


def test_wait_timeout_zero_waits_without_limit(monkeypatch):
    monkeypatch.setenv("ASYNC_TEST_TIMEOUT", "0.01")

    class Case(AsyncTestCase):
        def test_it(self):
            self.io_loop.call_later(0.05, self.stop, "late")
            assert self.wait(timeout=0) == "late"

    assert outcome(run_case(Case, "test_it"))[0] == "ok"


def test_stop_rejects_value_and_keywords_together():
    class Case(AsyncTestCase):
        def test_it(self):
            with self.assertRaises(TypeError):
                self.stop(1, a=2)

    assert outcome(run_case(Case, "test_it"))[0] == "ok"


def test_wait_condition_checked_only_after_stop():
    class Case(AsyncTestCase):
        def test_it(self):
            checks = []

            def condition():
                checks.append(True)
                return len(checks) == 2

            self.io_loop.add_callback(self.stop, "a")
            self.io_loop.call_later(0.01, self.stop, "b")
            assert self.wait(condition=condition) == "b"
            assert len(checks) == 2

    assert outcome(run_case(Case, "test_it"))[0] == "ok"


def test_callback_failure_ends_wait_at_once():
    class Case(AsyncTestCase):
        def test_it(self):
            def boom():
                raise ValueError("early")

            self.io_loop.add_callback(boom)
            # Without the early wake-up this would be a timeout failure instead.
            self.wait(timeout=5)

    kind, text = outcome(run_case(Case, "test_it"))
    assert kind == "error"
    assert "ValueError: early" in text and "timed out" not in text


def test_callback_failure_ends_gen_test_at_once():
    class Case(AsyncTestCase):
        @gen_test(timeout=5)
        async def test_it(self):
            def boom():
                raise ValueError("while awaiting")

            self.io_loop.add_callback(boom)
            await asyncio.get_running_loop().create_future()

    kind, text = outcome(run_case(Case, "test_it"))
    assert kind == "error"
    assert "ValueError: while awaiting" in text
    assert "Operation timed out" not in text


def test_gen_test_timeout_names_test_and_how_to_raise_it():
    class Case(AsyncTestCase):
        @gen_test(timeout=0.02)
        async def test_slow(self):
            await asyncio.sleep(30)

    kind, text = outcome(run_case(Case, "test_slow"))
    assert kind == "error"
    last = text.strip().splitlines()[-1]
    assert last.split(":", 1)[0] in {"TimeoutError", "asyncio.exceptions.TimeoutError"}
    assert "Case.test_slow: Operation timed out after 0.02 seconds" in last
    assert "@gen_test(timeout=...)" in last and "ASYNC_TEST_TIMEOUT" in last


def test_gen_test_timeout_is_squall_timeout_error():
    from squall.util import TimeoutError as SquallTimeoutError

    caught = []

    class Case(AsyncTestCase):
        @gen_test(timeout=0.02)
        async def slow(self):
            await asyncio.sleep(30)

        def test_it(self):
            try:
                self.slow()
            except SquallTimeoutError as exc:
                caught.append(exc)

    assert outcome(run_case(Case, "test_it"))[0] == "ok"
    assert len(caught) == 1


def test_gen_test_timeout_cancels_the_coroutine():
    events = []

    class Case(AsyncTestCase):
        @gen_test(timeout=0.02)
        async def test_it(self):
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                events.append("cancelled")
                raise

    assert outcome(run_case(Case, "test_it"))[0] == "error"
    assert events == ["cancelled"]


def test_gen_test_reads_environment_when_the_test_runs(monkeypatch):
    monkeypatch.delenv("ASYNC_TEST_TIMEOUT", raising=False)

    class Case(AsyncTestCase):
        @gen_test
        async def test_it(self):
            await asyncio.sleep(30)

    monkeypatch.setenv("ASYNC_TEST_TIMEOUT", "0.02")
    kind, text = outcome(run_case(Case, "test_it"))
    assert kind == "error" and "timed out after 0.02 seconds" in text


def test_gen_test_with_empty_parentheses_and_plain_function():
    ran = []

    class Case(AsyncTestCase):
        @gen_test()
        async def test_parens(self):
            ran.append("parens")

        @gen_test
        def test_plain(self):
            ran.append("plain")

    assert outcome(run_case(Case, "test_parens"))[0] == "ok"
    assert outcome(run_case(Case, "test_plain"))[0] == "ok"
    assert ran == ["parens", "plain"]


def test_gen_test_generator_timeout():
    class Case(AsyncTestCase):
        @gen_test(timeout=0.02)
        def test_it(self):
            yield asyncio.sleep(30)

    kind, text = outcome(run_case(Case, "test_it"))
    assert kind == "error" and "Operation timed out after 0.02 seconds" in text


def test_gen_test_outside_async_test_case_is_type_error():
    class Plain(unittest.TestCase):
        @gen_test
        async def test_it(self):
            pass

    kind, text = outcome(run_case(Plain, "test_it"))
    assert kind == "error" and "TypeError: @gen_test needs an AsyncTestCase" in text


def test_loop_closed_when_subclass_setup_fails():
    loops = []

    class Case(AsyncTestCase):
        def setUp(self):
            super().setUp()
            loops.append(self.io_loop)
            raise RuntimeError("setUp broke")

        def test_it(self):
            pass

    kind, text = outcome(run_case(Case, "test_it"))
    assert kind == "error" and "setUp broke" in text
    assert loops[0].asyncio_loop.is_closed()


def test_teardown_twice_is_harmless():
    class Case(AsyncTestCase):
        def test_it(self):
            pass

    case = Case("test_it")
    case.setUp()
    case.tearDown()
    case.tearDown()
    assert case.io_loop.asyncio_loop.is_closed()
    case.doCleanups()


def test_shared_main_loop_is_not_closed():
    from squall.platform.asyncio import AsyncIOMainLoop

    outer = asyncio.new_event_loop()
    asyncio.set_event_loop(outer)
    try:

        class Case(AsyncTestCase):
            def get_new_ioloop(self):
                return IOLoop.current()

            def test_it(self):
                assert isinstance(self.io_loop, AsyncIOMainLoop)
                self.io_loop.add_callback(self.stop, 1)
                assert self.wait() == 1

        assert outcome(run_case(Case, "test_it"))[0] == "ok"
        assert not outer.is_closed()
    finally:
        asyncio.set_event_loop(None)
        outer.close()


def test_previous_exception_handler_restored_on_shared_loop():
    outer = asyncio.new_event_loop()
    asyncio.set_event_loop(outer)

    def handler(loop, context):
        pass

    outer.set_exception_handler(handler)
    try:

        class Case(AsyncTestCase):
            def get_new_ioloop(self):
                return IOLoop.current()

            def test_it(self):
                assert self.io_loop.asyncio_loop.get_exception_handler() is not handler

        assert outcome(run_case(Case, "test_it"))[0] == "ok"
        assert outer.get_exception_handler() is handler
    finally:
        asyncio.set_event_loop(None)
        outer.close()


def test_leftover_task_failure_fails_test():
    class Case(AsyncTestCase):
        def test_it(self):
            async def stubborn():
                try:
                    await asyncio.sleep(30)
                except asyncio.CancelledError:
                    raise LookupError("refused to die quietly") from None

            self.io_loop.asyncio_loop.create_task(stubborn())
            self.io_loop.add_callback(self.stop)
            self.wait()

    kind, text = outcome(run_case(Case, "test_it"))
    assert kind == "error" and "LookupError: refused to die quietly" in text


def test_expectlog_failure_names_pattern_and_logger(quiet_logger):
    with pytest.raises(Exception, match=r"'nev.r'.*'squall\.test\.expectlog'"):
        with ExpectLog(quiet_logger, "nev.r"):
            pass


def test_expectlog_level_match_is_swallowed(quiet_logger):
    quiet_logger.setLevel(logging.DEBUG)
    with ExpectLog(quiet_logger, "w", level=logging.WARNING) as expect:
        quiet_logger.warning("w1")
        quiet_logger.warning("w2")
    assert (expect.matched, expect.deprecated_level_matched) == (2, 0)


def test_expectlog_restores_level_after_exception(quiet_logger):
    quiet_logger.setLevel(logging.ERROR)
    with pytest.raises(KeyError):
        with ExpectLog(quiet_logger, "x", level=logging.INFO) as expect:
            assert quiet_logger.level == logging.INFO
            raise KeyError
    assert quiet_logger.level == logging.ERROR
    assert expect.orig_level is None
    assert expect not in quiet_logger.filters


def test_expectlog_ignores_child_loggers(quiet_logger):
    child = quiet_logger.getChild("child")
    with ExpectLog(quiet_logger, "from child", required=False) as expect:
        child.error("from child")
    assert expect.matched == 0


def test_expectlog_uses_formatted_message(quiet_logger):
    with ExpectLog(quiet_logger, "value 42$") as expect:
        quiet_logger.error("value %d", 42)
    assert expect.matched == 1


def test_get_async_test_timeout_blank_env(monkeypatch):
    monkeypatch.setenv("ASYNC_TEST_TIMEOUT", "  ")
    assert get_async_test_timeout() == 5


def test_bind_unused_port_ipv6():
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        sock, port = bind_unused_port(address="::1")
    except OSError:
        pytest.skip("::1 not available")
    try:
        assert sock.family == socket.AF_INET6
        assert sock.getsockname()[1] == port
    finally:
        sock.close()


def test_bind_unused_port_host_name_gives_one_socket():
    sock, port = bind_unused_port(address="localhost")
    try:
        assert port > 0 and sock.getsockname()[1] == port
    finally:
        sock.close()


def test_setup_with_context_manager_exit_runs_when_test_fails():
    events = []

    class CM:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            events.append(exc)

    class Case(unittest.TestCase):
        def setUp(self):
            squall.testing.setup_with_context_manager(self, CM())

        def test_it(self):
            self.fail("no")

    assert not run_case(Case, "test_it").wasSuccessful()
    assert events == [(None, None, None)]


def test_main_accepts_squall_switches(tmp_path):
    (tmp_path / "fast.py").write_text(
        "import unittest\n"
        "class T(unittest.TestCase):\n"
        "    def test_a(self): self.fail('a')\n"
        "    def test_b(self): self.fail('b')\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "squall.testing",
            "--failfast",
            "--exception_on_interrupt=false",
            "fast",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=_child_env(),
        timeout=60,
    )
    assert result.returncode == 1
    assert "Ran 1 test" in result.stderr


# -- AsyncHTTPTestCase with stand-in server and client modules -------------------------------------


class _FakeServer:
    made: list = []

    def __init__(self, app, **options):
        self.app = app
        self.options = options
        self.sockets = []
        self.events = []
        _FakeServer.made.append(self)

    def add_sockets(self, sockets):
        self.sockets.extend(sockets)

    def stop(self):
        self.events.append("stop")
        for sock in self.sockets:
            sock.close()

    async def close_all_connections(self):
        self.events.append("close_all_connections")


class _FakeClient:
    made: list = []
    hang = False

    def __init__(self, **kwargs):
        self.kwargs = kwargs
        self.calls = []
        self.closed = False
        _FakeClient.made.append(self)

    def fetch(self, url, **kwargs):
        self.calls.append((url, kwargs))
        future = asyncio.get_running_loop().create_future()
        if not _FakeClient.hang:
            future.set_result(("response", url))
        return future

    def close(self):
        self.closed = True


@pytest.fixture
def fake_http(monkeypatch):
    import types

    server_module = types.ModuleType("squall.httpserver")
    server_module.HTTPServer = _FakeServer
    client_module = types.ModuleType("squall.httpclient")
    client_module.AsyncHTTPClient = _FakeClient
    monkeypatch.setitem(sys.modules, "squall.httpserver", server_module)
    monkeypatch.setitem(sys.modules, "squall.httpclient", client_module)
    monkeypatch.setattr(_FakeServer, "made", [])
    monkeypatch.setattr(_FakeClient, "made", [])
    monkeypatch.setattr(_FakeClient, "hang", False)


def test_http_case_serves_fetches_and_shuts_down(fake_http):
    app = object()
    seen = {}

    class Case(AsyncHTTPTestCase):
        def get_app(self):
            return app

        def test_it(self):
            port = self.get_http_port()
            seen["port"] = port
            assert self.http_server.app is app
            assert self.http_server.sockets[0].getsockname()[1] == port
            assert self.fetch("/a?b=1") == ("response", f"http://127.0.0.1:{port}/a?b=1")
            assert self.fetch("HTTP://example.com/x", raise_error=True, method="HEAD") == (
                "response",
                "HTTP://example.com/x",
            )
            seen["calls"] = list(self.http_client.calls)

    assert outcome(run_case(Case, "test_it"))[0] == "ok"
    assert seen["calls"] == [
        (f"http://127.0.0.1:{seen['port']}/a?b=1", {"raise_error": False}),
        ("HTTP://example.com/x", {"raise_error": True, "method": "HEAD"}),
    ]
    (server,) = _FakeServer.made
    assert server.events == ["stop", "close_all_connections"]
    (client,) = _FakeClient.made
    assert client.closed and client.kwargs == {}


def test_https_case_client_and_server_options(fake_http):
    class Case(AsyncHTTPSTestCase):
        def get_app(self):
            return "app"

        def test_it(self):
            assert self.get_url("/x").startswith("https://127.0.0.1:")

    assert outcome(run_case(Case, "test_it"))[0] == "ok"
    (client,) = _FakeClient.made
    assert client.kwargs == {"force_instance": True, "defaults": {"validate_cert": False}}
    (server,) = _FakeServer.made
    assert server.options == {"ssl_options": AsyncHTTPSTestCase.default_ssl_options()}


def test_http_fetch_timeout_names_url(fake_http, monkeypatch):
    monkeypatch.setenv("ASYNC_TEST_TIMEOUT", "0.02")
    _FakeClient.hang = True

    class Case(AsyncHTTPTestCase):
        def get_app(self):
            return "app"

        def test_it(self):
            self.fetch("/slow")

    kind, text = outcome(run_case(Case, "test_it"))
    assert kind == "error"
    assert re.search(
        r"TimeoutError: fetch\('http://127\.0\.0\.1:\d+/slow'\): "
        r"Operation timed out after 0\.02 seconds; .*ASYNC_TEST_TIMEOUT",
        text,
    )


def test_http_case_setup_failure_releases_everything(fake_http):
    state = {}

    class Case(AsyncHTTPTestCase):
        def get_app(self):
            state["loop"] = self.io_loop
            raise RuntimeError("no app today")

        def test_it(self):
            pass

    kind, text = outcome(run_case(Case, "test_it"))
    assert kind == "error" and "no app today" in text
    assert state["loop"].asyncio_loop.is_closed()
    assert _FakeServer.made == []
