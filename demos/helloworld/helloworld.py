"""Hello, world: the overview's first example, with ``tornado`` spelled ``squall``.

    python demos/helloworld/helloworld.py [--port 8888] [--address 127.0.0.1]

Everything from ``import`` to ``application = ...`` is the overview's code
as printed there; ``make_app`` and ``main`` only add what every demo has
(a path prefix for the demo index, and ``--port``/``--address``).
"""

# fmt: off
import squall.ioloop
import squall.web


class MainHandler(squall.web.RequestHandler):
    def get(self):
        self.write("Hello, world")


application = squall.web.Application([
    (r"/", MainHandler),
])
# fmt: on


def make_app(prefix: str = "") -> squall.web.Application:
    """The same application, answering at ``prefix + "/"`` (``prefix`` like ``"/hello"``)."""
    if prefix == "":
        return application
    return squall.web.Application([(prefix + "/", MainHandler)])


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="squall's hello world")
    parser.add_argument("--port", type=int, default=8888)
    parser.add_argument("--address", default="127.0.0.1")
    args = parser.parse_args()
    application.listen(args.port, args.address)
    print(f"hello world on http://{args.address}:{args.port}/", flush=True)
    try:
        squall.ioloop.IOLoop.instance().start()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
