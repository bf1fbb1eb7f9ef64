"""WSGI bench: a Flask hello world on squall's WSGIContainer vs Tornado's and gunicorn.

Run from the repository root (see README.md for the setup):

    python bench/wsgi/run.py                 # 3 rounds
    python bench/wsgi/run.py --rounds 5 --conns 20

Servers (server.py, one fresh process per measurement, pinned to CPU 0 with
every thread and child process; wrk pinned to CPU 1) run the same Flask
application.  Rounds are interleaved and each figure is the median over
rounds; ratios are paired per round, against Tornado's WSGIContainer and
against gunicorn.  CPU per request counts every thread and child process
of the server (gunicorn's worker, the thread pools).
"""

from __future__ import annotations

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from _wrk import Server, check_machine, interleaved, measure, table  # noqa: E402

SCRIPT = os.path.join(HERE, "server.py")
IMPLS = ["squall", "squall-pool", "tornado", "tornado-pool", "gunicorn", "gunicorn-gthread"]


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except FileNotFoundError:
            continue
        for tid in tasks:
            try:
                with open(f"/proc/{current}/task/{tid}/children") as f:
                    pending.extend(int(child) for child in f.read().split())
            except FileNotFoundError:
                pass
    return found


class TreeServer(Server):
    """A server whose CPU time is summed over all its threads and child processes."""

    def cpu_ns(self) -> int:
        total = 0
        for pid in _tree(self.proc.pid):
            try:
                tasks = os.listdir(f"/proc/{pid}/task")
            except FileNotFoundError:
                continue
            for tid in tasks:
                try:
                    with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                        total += int(f.read().split()[0])
                except FileNotFoundError:
                    pass
        return total


def hello(rounds: int, seconds: float, conns: int) -> None:
    def one(impl: str) -> tuple[float, float, int]:
        server = TreeServer(SCRIPT, impl)
        try:
            return measure(server, seconds, conns)
        finally:
            server.stop()

    runs = interleaved(IMPLS, rounds, one)
    title = f"== Flask hello world: GET /, wrk -t1 -c{conns} -d{seconds}s, {rounds} rounds =="
    table(title, runs)
    table("== the same run, ratios against gunicorn's sync worker ==", runs, anchor="gunicorn")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--conns", type=int, default=50)
    args = parser.parse_args()
    check_machine()
    import flask
    import gunicorn
    import tornado

    print(
        f"python {sys.version.split()[0]}, tornado {tornado.version}, "
        f"flask {__import__('importlib.metadata').metadata.version('flask')}, "
        f"gunicorn {gunicorn.__version__}"
    )
    del flask
    print()
    hello(args.rounds, args.seconds, args.conns)


if __name__ == "__main__":
    main()
