"""The file server shows the analyst's outputs and packages over HTTP, and nothing else."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from tasks.shared.file_server import NotServedError, make_file_server, served_url, start_file_server
from tasks.shared.settings import Settings, get_settings, reset_settings_cache

SECRET = b"name,date of birth\nA Person,1990-01-01\n"  # what personal data looks like in the folders never served
FILES = {  # served file -> its expected content type
    "outputs/p/2022-23/summary.html": "text/html",
    "outputs/p/2022-23/measures-published.csv": "text/csv",
    "outputs/p/2022-23/published.json": "application/json",
    "outputs/p/2022-23/charts/knife crime.png": "image/png",
    "outputs/p/2022-23/charts/m.svg": "image/svg+xml",
    "outputs/p/2022-23/quality/index.html": "text/html",
    "submissions/p/ab/abcd.zip": "application/zip",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def served_tree(data_dir: Path) -> Path:
    """A data directory holding every kind of file, served or private."""
    for name in FILES:
        (data_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (data_dir / name).write_bytes(f"content of {name}".encode())
    for private in ("raw/ab/abcd.csv", "quarantine/p/bad.csv", "outbox/p/message.eml", "dutycycle.db",
                    "data-docs/p/index.html", "outputs/p/2022-23/internal/breakdowns-exact-values.csv", "submissions/p/ab/.incoming-x"):
        (data_dir / private).parent.mkdir(parents=True, exist_ok=True)
        (data_dir / private).write_bytes(SECRET)
    # symlinks inside a served folder that lead out of it
    (data_dir / "outputs/p/leak.csv").symlink_to(data_dir / "raw/ab/abcd.csv")
    (data_dir / "outputs/p/raw").symlink_to(data_dir / "raw", target_is_directory=True)
    return data_dir


@pytest.fixture
def served(served_tree: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Settings, int]]:
    """The file server started on a free port over that data directory."""
    port = free_port()
    monkeypatch.setenv("DUTYCYCLE_FILES_URL", f"http://127.0.0.1:{port}")
    reset_settings_cache()
    settings = get_settings()
    server = start_file_server(settings)
    yield settings, port
    server.shutdown()
    server.server_close()


def request(port: int, path: str, method: str = "GET") -> tuple[int, str, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(method, path)  # sent as written: no client-side normalisation of '..'
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        connection.close()


def test_every_kind_of_published_file_is_served_with_its_content_type(served: tuple[Settings, int]) -> None:
    settings, port = served
    for name, content_type in FILES.items():
        url = served_url(settings, settings.data_dir / name)
        assert url.startswith(f"http://127.0.0.1:{port}/"), url
        status, served_type, body = request(port, url.removeprefix(f"http://127.0.0.1:{port}"))
        assert (status, served_type.split(";")[0], body) == (200, content_type, f"content of {name}".encode()), name
    assert served_url(settings, settings.data_dir / "outputs/p/2022-23/charts/knife crime.png").endswith(
        "/outputs/p/2022-23/charts/knife%20crime.png"
    )
    assert request(port, "/outputs/p/2022-23/quality/index.html", "HEAD")[:2] == (200, "text/html; charset=utf-8")


@pytest.mark.parametrize(
    "path",
    [
        "/raw/ab/abcd.csv",
        "/quarantine/p/bad.csv",
        "/outbox/p/message.eml",
        "/data-docs/p/index.html",
        "/dutycycle.db",
        "/outputs/../dutycycle.db",
        "/outputs/../raw/ab/abcd.csv",
        "/outputs/p/../../raw/ab/abcd.csv",
        "/outputs/%2e%2e/dutycycle.db",
        "/outputs/%2e%2e%2fdutycycle.db",
        "/outputs/..%2f..%2fraw/ab/abcd.csv",
        "/outputs/%252e%252e/dutycycle.db",
        "/%2e%2e/dutycycle.db",
        "//etc/passwd",
        "/outputs//etc/passwd",
        "/outputs/%2Fetc/passwd",
        "/outputs/p/leak.csv",
        "/outputs/p/raw/ab/abcd.csv",
        "/outputs/p/2022-23/internal/breakdowns-exact-values.csv",
        "/outputs/p/2022-23/%69nternal/breakdowns-exact-values.csv",
        "/submissions/p/ab/.incoming-x",
        "/outputs/",
        "/outputs/p/2022-23/",
        "/",
        "/nothing-here",
    ],
)
def test_private_folders_traversal_symlinks_and_listings_get_a_plain_404(served: tuple[Settings, int], path: str) -> None:
    _, port = served
    status, content_type, body = request(port, path)
    if status == 301:  # a folder without its slash is redirected first; it still lists nothing
        status, content_type, body = request(port, path + "/")
    assert (status, content_type) == (404, "text/plain; charset=utf-8"), path
    assert body.startswith(b"404 ") and SECRET not in body


def test_the_server_is_read_only(served: tuple[Settings, int]) -> None:
    settings, port = served
    for method in ("PUT", "POST", "DELETE"):
        assert request(port, "/outputs/p/2022-23/summary.html", method)[0] == 501
    assert (settings.data_dir / "outputs/p/2022-23/summary.html").read_bytes() == b"content of outputs/p/2022-23/summary.html"


def test_no_link_is_made_to_a_file_outside_the_served_folders(data_dir: Path, tmp_path: Path) -> None:
    settings = get_settings()
    for private in (settings.raw_store_dir / "ab" / "abcd.csv", settings.quarantine_dir / "x.csv",
                    settings.outbox_dir / "p" / "m.eml", data_dir / "dutycycle.db", tmp_path / "elsewhere.html",
                    settings.outputs_dir / "p" / "2022-23" / "internal" / "breakdowns-exact-values.csv",
                    settings.outputs_dir / ".." / "raw" / "x.csv"):
        with pytest.raises(NotServedError, match="not in a folder the file server shows"):
            served_url(settings, private)


def test_files_url_must_be_http(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for bad in ("file:///srv/files", "127.0.0.1:4280", "ftp://host/"):
        monkeypatch.setenv("DUTYCYCLE_FILES_URL", bad)
        with pytest.raises(ValidationError, match="DUTYCYCLE_FILES_URL must be an http"):
            Settings()
    monkeypatch.setenv("DUTYCYCLE_FILES_URL", "https://files.example.org/dutycycle/")
    settings = Settings()
    assert served_url(settings, settings.outputs_dir / "p" / "a.csv") == "https://files.example.org/dutycycle/outputs/p/a.csv"
    with pytest.raises(ValueError, match="speaks plain http, not https://files.example.org/dutycycle"):
        start_file_server(settings)


def test_dutycycle_files_serves_the_links_of_a_run_until_stopped(served_tree: Path) -> None:
    port = free_port()
    environment = {**os.environ, "DUTYCYCLE_FILES_URL": f"http://127.0.0.1:{port}"}
    command = Path(sys.executable).parent / "dutycycle"
    process = subprocess.Popen([str(command), "files"], env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120  # a wide margin: the machine is shared
        while True:
            try:
                status, content_type, _ = request(port, "/outputs/p/2022-23/quality/index.html")
                break
            except ConnectionRefusedError:
                assert process.poll() is None and time.monotonic() < deadline, process.stderr.read().decode()
                time.sleep(0.2)
        assert (status, content_type) == (200, "text/html; charset=utf-8")
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=60)
    assert f"Files served at http://127.0.0.1:{port}: /outputs/" in out.decode()


def test_dutycycle_files_on_a_taken_port_fails_in_one_line(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from dutycycle.cli import app

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        monkeypatch.setenv("DUTYCYCLE_FILES_URL", f"http://127.0.0.1:{taken.getsockname()[1]}")
        reset_settings_cache()
        result = CliRunner().invoke(app, ["files"])
    assert result.exit_code == 2
    assert result.output.startswith("cannot serve files at http://127.0.0.1:") and result.output.count("\n") == 1

    monkeypatch.setenv("DUTYCYCLE_FILES_URL", "file:///srv")
    reset_settings_cache()
    result = CliRunner().invoke(app, ["files"])
    assert (result.exit_code, result.output.count("\n")) == (2, 1) and "must be an http(s) URL" in result.output


def test_port_zero_in_files_url_takes_any_free_port(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DUTYCYCLE_FILES_URL", "http://127.0.0.1:0")  # how tests bind first, then publish links
    server = make_file_server(Settings())
    try:
        assert server.server_address[0] == "127.0.0.1" and server.server_address[1] not in (0, 80)
    finally:
        server.server_close()


def test_a_path_in_files_url_is_part_of_every_link_and_of_what_is_served(
    served_tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DUTYCYCLE_FILES_URL", "http://127.0.0.1:0/dutycycle/files/")
    server = start_file_server(Settings())
    try:
        port = server.server_address[1]
        monkeypatch.setenv("DUTYCYCLE_FILES_URL", f"http://127.0.0.1:{port}/dutycycle/files/")
        url = served_url(Settings(), served_tree / "outputs/p/2022-23/quality/index.html")
        assert url == f"http://127.0.0.1:{port}/dutycycle/files/outputs/p/2022-23/quality/index.html"
        assert request(port, "/dutycycle/files/outputs/p/2022-23/quality/index.html")[0] == 200
        assert request(port, "/outputs/p/2022-23/quality/index.html")[0] == 404
        assert request(port, "/dutycycle/filesoutputs/p/2022-23/quality/index.html")[0] == 404
    finally:
        server.shutdown()
        server.server_close()
