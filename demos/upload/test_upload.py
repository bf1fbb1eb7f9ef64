"""The upload demo: streamed multipart uploads in-process, and a real upload through Chromium."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

BOUNDARY = "squall-demo-boundary"


@pytest.fixture
def folder(tmp_path: Any) -> str:
    path = tmp_path / "shelf"
    path.mkdir()
    return str(path)


@pytest.fixture
def app(load_demo: Callable[[str], ModuleType], folder: str) -> Any:
    return load_demo("upload/upload.py").make_app("/up", folder=folder)


@pytest.fixture
def http_server_options() -> dict[str, Any]:
    # Far below the uploads sent here: the handler's own max_body_size must win.
    return {"max_body_size": 1024 * 1024}


def _multipart(fields: dict[str, str], files: list[tuple[str, bytes]]) -> bytes:
    pieces: list[bytes] = []
    for name, value in fields.items():
        pieces.append(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    for filename, data in files:
        head = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        )
        pieces.append(head.encode() + data + b"\r\n")
    pieces.append(f"--{BOUNDARY}--\r\n".encode())
    return b"".join(pieces)


async def _token(fetch: Callable[..., Any]) -> str:
    response = await fetch("/up/")
    found = re.search(r"_xsrf=([^;]+)", response.headers["Set-Cookie"])
    assert found is not None
    return found.group(1)


def _headers(token: str, **extra: str) -> dict[str, str]:
    return {
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        "Cookie": f"_xsrf={token}",
        "X-XSRFToken": token,
        "Accept": "application/json",
        **extra,
    }


async def test_files_stream_to_disk_with_size_and_sha256(
    fetch: Callable[..., Any], folder: str
) -> None:
    big = os.urandom(3 * 1024 * 1024 + 17)
    small = b"hello\r\n--not a boundary\r\n"
    body = _multipart(
        {"note": "two files"}, [("../../big.bin", big), ("notes.txt", small), ("", b"")]
    )
    response = await fetch(
        "/up/upload", method="POST", body=body, headers=_headers(await _token(fetch))
    )
    assert response.code == 200, response.body
    files = json.loads(response.body)["files"]
    assert [(f["name"], f["size"], f["sha256"], f["note"]) for f in files] == [
        ("../../big.bin", len(big), hashlib.sha256(big).hexdigest(), "two files"),
        ("notes.txt", len(small), hashlib.sha256(small).hexdigest(), "two files"),
    ]
    stored = sorted(os.listdir(folder))
    assert stored == sorted(f["stored"] for f in files)  # no .part left, nothing outside
    assert files[0]["stored"].endswith("-big.bin")
    with open(os.path.join(folder, files[0]["stored"]), "rb") as kept:
        assert kept.read() == big
    listing = json.loads((await fetch("/up/files")).body)["files"]
    assert [f["sha256"] for f in listing] == [f["sha256"] for f in files]
    download = await fetch("/up/files/" + files[1]["stored"])
    assert download.body == small
    assert download.headers["Content-Disposition"] == "attachment"
    page = (await fetch("/up/")).body.decode()
    assert hashlib.sha256(big).hexdigest() in page and "3.0 MB" in page
    assert "/up/static/upload.js?v=" in page


async def test_an_upload_without_the_xsrf_header_is_refused_unread(
    fetch: Callable[..., Any], folder: str
) -> None:
    token = await _token(fetch)
    headers = _headers(token)
    del headers["X-XSRFToken"]
    body = _multipart({"_xsrf": token}, [("a.txt", b"data")])  # too late: checked before the body
    response = await fetch("/up/upload", method="POST", body=body, headers=headers)
    assert response.code == 403
    assert os.listdir(folder) == []


async def test_the_plain_form_posts_its_token_in_the_query(
    fetch: Callable[..., Any], folder: str
) -> None:
    token = await _token(fetch)
    page = (await fetch("/up/", headers={"Cookie": f"_xsrf={token}"})).body.decode()
    action = re.search(r'action="([^"]+)"', page)
    assert action is not None and action.group(1).startswith("/up/upload?_xsrf=")
    headers = _headers(token, Accept="text/html")
    del headers["X-XSRFToken"]
    response = await fetch(
        action.group(1).replace("&amp;", "&"),
        method="POST",
        body=_multipart({}, [("plain.txt", b"no javascript")]),
        headers=headers,
        follow_redirects=False,
    )
    assert response.code == 302 and response.headers["Location"] == "/up/"
    assert len(os.listdir(folder)) == 1


async def test_a_broken_body_is_a_400_and_leaves_nothing(
    fetch: Callable[..., Any], folder: str
) -> None:
    body = _multipart({}, [("cut.bin", b"x" * 100_000)])
    cut = body[: -len(f"--{BOUNDARY}--\r\n") - 10]
    response = await fetch(
        "/up/upload", method="POST", body=cut, headers=_headers(await _token(fetch))
    )
    assert response.code == 400
    assert os.listdir(folder) == []


async def test_an_upload_cut_short_leaves_nothing(
    fetch: Callable[..., Any], http_port: int, folder: str
) -> None:
    token = await _token(fetch)
    body = _multipart({}, [("huge.bin", b"y" * 2_000_000)])
    head = "".join(f"{k}: {v}\r\n" for k, v in _headers(token).items())
    _, writer = await asyncio.open_connection("127.0.0.1", http_port)
    writer.write(
        f"POST /up/upload HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n{head}\r\n".encode()
        + body[:1_000_000]
    )
    await writer.drain()
    for _ in range(300):  # until the server started the file
        if os.listdir(folder):
            break
        await asyncio.sleep(0.01)
    assert [name.endswith(".part") for name in os.listdir(folder)] == [True]
    writer.close()
    for _ in range(300):
        if not os.listdir(folder):
            break
        await asyncio.sleep(0.01)
    assert os.listdir(folder) == []


def test_browser_upload_shows_progress_and_the_file(
    run_demo: Callable[..., str], browser: Callable[[], Any], tmp_path: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    payload = tmp_path / "payload.bin"
    payload.write_bytes(os.urandom(6 * 1024 * 1024))
    digest = hashlib.sha256(payload.read_bytes()).hexdigest()
    url = run_demo("upload/upload.py", "--folder", str(tmp_path / "kept"))
    session = browser()
    session.get(url + "/")
    session.find_element(By.ID, "note").send_keys("from Chromium")
    session.find_element(By.ID, "files").send_keys(str(payload))
    session.find_element(By.ID, "send").click()
    WebDriverWait(session, 30).until(
        lambda s: digest in [e.text for e in s.find_elements(By.CSS_SELECTOR, "td.sha256")]
    )
    bar = session.find_element(By.ID, "progress")
    assert int(bar.get_attribute("data-events")) >= 1
    loaded, total = int(bar.get_attribute("data-loaded")), int(bar.get_attribute("data-total"))
    assert loaded == total > payload.stat().st_size  # the whole multipart body went up
    assert session.find_element(By.ID, "percent").text == "100%"
    row = session.find_element(By.CSS_SELECTOR, "#uploaded tbody tr:last-child")
    assert row.find_element(By.CSS_SELECTOR, "td.name").text == "payload.bin"
    assert row.find_element(By.CSS_SELECTOR, "td.size").text == "6.0 MB"
    session.save_screenshot(str(tmp_path / "upload.png"))
    kept = [p.name for p in (tmp_path / "kept").iterdir()]
    assert len(kept) == 1 and kept[0].endswith("-payload.bin")
    session.refresh()  # the list is the server's, not only the page's
    assert digest in [e.text for e in session.find_elements(By.CSS_SELECTOR, "td.sha256")]
