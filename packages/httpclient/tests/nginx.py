"""A real nginx for the client tests (and bench/client): start, serve, stop.

:class:`Nginx` writes a config into a temporary folder, starts the Debian
``nginx`` binary in the foreground on free 127.0.0.1 ports and stops it again.
It serves the files it is given, a few fixed endpoints (redirects of every
kind, a redirect loop, ``/method`` echoing the method and Content-Length,
``/conn`` echoing nginx's connection serial number and request count on that
connection, so reuse can be checked), gzip for text (unless ``gzip=False``), TLS on a second port when
a certificate is given (HTTP/2 there too with ``http2=True``, which also adds a
cleartext h2c-only port, ``h2c_port``), and optionally a forward proxy on a third port (it
adds ``X-Proxied-By: nginx`` so a test can see the request went through it,
and with ``proxy_credentials`` it answers 407 unless Proxy-Authorization
carries them).

Usage::

    with Nginx(tmp_path, files={"hello.txt": b"Hello, world!"}) as server:
        server.url("/hello.txt")
"""

from __future__ import annotations

import base64
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)

_REDIRECTS = (301, 302, 303, 307, 308)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Nginx:
    """One nginx master + worker serving ``root`` (created under ``folder``)."""

    def __init__(
        self,
        folder: str | os.PathLike[str],
        *,
        files: dict[str, bytes] | None = None,
        tls: tuple[str, str] | None = None,
        forward_proxy: bool = False,
        proxy_credentials: tuple[str, str] | None = None,
        upstream: int | None = None,
        workers: int = 1,
        cpu: int | None = None,
        gzip: bool = True,
        http2: bool = False,
    ) -> None:
        if NGINX is None:
            raise RuntimeError("nginx is not installed (apt-get install nginx)")
        self.folder = Path(folder)
        self.root = self.folder / "www"
        self.root.mkdir(parents=True, exist_ok=True)
        for name, content in (files or {}).items():
            (self.root / name).write_bytes(content)
        self.port = _free_port()
        self.tls_port = _free_port() if tls else None
        self.proxy_port = _free_port() if forward_proxy else None
        self._http2 = http2
        self.h2c_port = _free_port() if http2 else None
        self._tls = tls
        self._credentials = proxy_credentials
        self._upstream = upstream
        self._workers = workers
        self._cpu = cpu
        self._gzip = gzip
        self._process: subprocess.Popen[bytes] | None = None

    # -- config -----------------------------------------------------------
    def _endpoints(self) -> str:
        lines = [f"location = /r{code} {{ return {code} /method; }}" for code in _REDIRECTS]
        lines += [
            "location = /loop { return 302 /loop; }",
            "location = /chain { return 302 /r301; }",
            'location = /method { return 200 "$request_method $content_length"; }',
            'location = /conn { return 200 "$connection $connection_requests"; }',
            'location = /teapot { return 418 "short and stout"; }',
        ]
        if self._upstream is not None:
            lines.append(f"location /up/ {{ proxy_pass http://127.0.0.1:{self._upstream}/; }}")
        return "\n        ".join(lines)

    def _config(self) -> str:
        tmp = self.folder / "tmp"
        tmp.mkdir(exist_ok=True)
        temps = "".join(
            f"    {kind}_temp_path {tmp / kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        user = "user root root;\n" if os.geteuid() == 0 else ""
        affinity = ""
        if self._cpu is not None:
            affinity = "worker_cpu_affinity " + " ".join(
                format(1 << self._cpu, "b") for _ in range(self._workers)
            )
            affinity += ";\n"
        servers = [
            f"""    server {{
        listen 127.0.0.1:{self.port};
        {self._endpoints()}
    }}"""
        ]
        if self._tls:
            cert, key = self._tls
            servers.append(
                f"""    server {{
        listen 127.0.0.1:{self.tls_port} ssl{" http2" if self._http2 else ""};
        ssl_certificate {cert};
        ssl_certificate_key {key};
        {self._endpoints()}
    }}"""
            )
        if self.h2c_port:
            servers.append(
                f"""    server {{
        listen 127.0.0.1:{self.h2c_port} http2;
        {self._endpoints()}
    }}"""
            )
        if self.proxy_port:
            guard = ""
            if self._credentials:
                token = base64.b64encode(":".join(self._credentials).encode()).decode()
                guard = (
                    f'if ($http_proxy_authorization != "Basic {token}") '
                    '{ add_header Proxy-Authenticate "Basic realm=proxy" always; return 407; }'
                )
            servers.append(
                f"""    server {{
        listen 127.0.0.1:{self.proxy_port};
        location / {{
            {guard}
            proxy_pass http://$http_host$request_uri;
            add_header X-Proxied-By nginx always;
        }}
    }}"""
            )
        return f"""{user}worker_processes {self._workers};
{affinity}daemon off;
master_process on;
pid {self.folder / "nginx.pid"};
error_log {self.folder / "error.log"} warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
{temps}    types {{ text/plain txt; text/html html; application/octet-stream bin; }}
    default_type application/octet-stream;
    root {self.root};
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
    gzip {"on" if self._gzip else "off"};
    gzip_min_length 0;
    gzip_types text/plain;
    resolver_timeout 1s;
{chr(10).join(servers)}
}}
"""

    # -- lifecycle --------------------------------------------------------
    def start(self) -> Nginx:
        conf = self.folder / "nginx.conf"
        conf.write_text(self._config())
        assert NGINX is not None
        self._process = subprocess.Popen(
            [NGINX, "-p", str(self.folder), "-c", str(conf), "-e", str(self.folder / "error.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        ports = [p for p in (self.port, self.tls_port, self.proxy_port, self.h2c_port) if p]
        while True:
            if self._process.poll() is not None:
                err = (
                    self._process.stderr.read().decode(errors="replace")
                    if self._process.stderr
                    else ""
                )
                raise RuntimeError(f"nginx exited at start: {err.strip() or self._log()}")
            if all(self._accepts(port) for port in ports):
                return self
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"nginx did not listen within 10 s: {self._log()}")
            time.sleep(0.02)

    @staticmethod
    def _accepts(port: int) -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        except OSError:
            return False
        return True

    def _log(self) -> str:
        try:
            return (self.folder / "error.log").read_text()[-2000:]
        except OSError:
            return ""

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGQUIT)
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        if process.stderr:
            process.stderr.close()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def url(self, path: str = "/", *, tls: bool = False) -> str:
        if tls:
            return f"https://127.0.0.1:{self.tls_port}{path}"
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> Nginx:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
