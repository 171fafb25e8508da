"""The analyst's files over HTTP: published outputs, quality documentation and submission packages, read-only.

Browsers refuse ``file://`` links from the Prefect UI, so every link dutycycle publishes points here instead
(``served_url``). Only the folders meant for people are served, each under a stable prefix; the raw store,
quarantine, outbox and database hold personal data and are never reachable, nor are the exact (undisclosed)
figures compute keeps under ``outputs/.../internal/``.
"""

from __future__ import annotations

import logging
import os
import posixpath
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from tasks.shared.settings import Settings

INTERNAL = "internal"  # compute's exact, undisclosed figures: kept beside the publication, never served
logger = logging.getLogger("dutycycle.files")


class NotServedError(ValueError):
    """A file outside the folders the file server shows, so it cannot be linked to."""


def served_folders(settings: Settings) -> dict[str, Path]:
    """The folders meant for people, by URL prefix: /outputs/, /submissions/."""
    return {
        "outputs": settings.outputs_dir,
        "submissions": settings.submissions_dir,
    }


def _hidden(parts: tuple[str, ...] | list[str]) -> bool:
    # dot files are half-written temporaries (raw_store writes then renames), and '..' leads out; internal/ holds
    # exact figures
    return any(part.startswith(".") or part == INTERNAL for part in parts)


def served_url(settings: Settings, path: Path | str) -> str:
    """The http(s) URL under files_url at which the file server shows this file (the only way links are made)."""
    resolved = Path(path).resolve()
    for prefix, folder in served_folders(settings).items():
        try:
            relative = resolved.relative_to(folder.resolve())
        except ValueError:
            continue
        if _hidden(relative.parts):
            break
        return f"{settings.files_url.rstrip('/')}/{prefix}/{quote(relative.as_posix())}"
    raise NotServedError(
        f"{path} is not in a folder the file server shows ({', '.join(f'{p}/' for p in served_folders(settings))} "
        f"of {settings.data_dir}), so no link can be made to it"
    )


class FilesHandler(SimpleHTTPRequestHandler):
    """GET and HEAD only (SimpleHTTPRequestHandler answers 501 to anything else); one served folder per prefix."""

    server_version = "dutycycle-files"
    error_message_format = "%(code)d %(message)s\n"
    error_content_type = "text/plain; charset=utf-8"
    # fixed types, so a machine's /etc/mime.types cannot change what a browser is told
    extensions_map = {
        ".html": "text/html; charset=utf-8",
        ".csv": "text/csv; charset=utf-8",
        ".json": "application/json",
        ".png": "image/png",
        ".svg": "image/svg+xml",
        ".zip": "application/zip",
        ".pdf": "application/pdf",
        ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ".css": "text/css",
        ".js": "text/javascript",
    }

    def __init__(self, *args, roots: dict[str, str], base: str = "", **kwargs):
        self.roots, self.base = roots, base
        super().__init__(*args, **kwargs)

    def translate_path(self, path: str) -> str:
        """The local file of a URL path, or '' (which cannot be opened: 404) for anything outside the served folders."""
        path = path.split("?", 1)[0].split("#", 1)[0]
        if not path.startswith(self.base + "/"):
            return ""
        prefix, _, rest = path.removeprefix(self.base).lstrip("/").partition("/")
        root = self.roots.get(unquote(prefix))
        if root is None:
            return ""
        words = [w for w in posixpath.normpath(unquote(rest)).split("/") if w and w != "."]
        if _hidden(words):
            return ""
        self.directory = root
        local = super().translate_path("/" + rest)  # the standard library's own guard against '..' and drive names
        real = os.path.realpath(local)
        # a symlink inside a served folder must not lead out of it
        if real != root and not real.startswith(root + os.sep):
            return ""
        return local

    def list_directory(self, path):  # noqa: ANN001 - the standard library's signature
        # no listings: the links name each file, and a listing would show what lies beside it
        self.send_error(404, "Not found")
        return None

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the standard library's signature
        logger.info("%s %s", self.address_string(), format % args)


def _bind_address(settings: Settings) -> tuple[str, int]:
    parts = urlsplit(settings.files_url)
    if parts.scheme != "http":
        raise ValueError(f"the file server speaks plain http, not {settings.files_url}")
    return parts.hostname or "127.0.0.1", 80 if parts.port is None else parts.port  # port 0: any free port


def make_file_server(settings: Settings) -> ThreadingHTTPServer:
    """The file server bound to files_url's host and port (not yet serving); OSError when the port is taken."""
    roots = {prefix: os.path.realpath(folder) for prefix, folder in served_folders(settings).items()}
    base = urlsplit(settings.files_url).path.rstrip("/")  # links carry files_url's path, e.g. http://host:4280/files
    return ThreadingHTTPServer(_bind_address(settings), partial(FilesHandler, roots=roots, base=base))


def start_file_server(settings: Settings) -> ThreadingHTTPServer:
    """Serve the analyst's files from a daemon thread beside the caller (e.g. `dutycycle serve`); shutdown() stops it."""
    server = make_file_server(settings)
    threading.Thread(target=server.serve_forever, name="dutycycle-files", daemon=True).start()
    return server
