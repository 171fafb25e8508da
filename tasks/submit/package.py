"""The submission package: published measures CSV, HTML summary and a manifest, as one reproducible zip."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass

import pandas as pd

# A fixed timestamp inside the zip makes the same content produce the same bytes and checksum.
ZIP_TIMESTAMP = (2000, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Package:
    data: bytes
    sha256: str
    files: dict[str, str]  # member name -> sha256


def measures_csv(published: pd.DataFrame) -> bytes:
    return published.to_csv(index=False, lineterminator="\n").encode("utf-8")


def build_package(
    published: pd.DataFrame, summary_html: str, manifest: dict, extra_files: dict[str, bytes] | None = None
) -> Package:
    """Zip the published measures, the HTML summary (with the charts it shows) and a manifest listing every
    member's checksum."""
    members = {"measures.csv": measures_csv(published), "summary.html": summary_html.encode("utf-8")}
    members.update(extra_files or {})
    checksums = {name: hashlib.sha256(content).hexdigest() for name, content in members.items()}
    full_manifest = {**manifest, "files": checksums}
    members["manifest.json"] = json.dumps(full_manifest, indent=2, sort_keys=True, default=str).encode("utf-8")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(members):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, members[name])
    data = buffer.getvalue()
    return Package(data=data, sha256=hashlib.sha256(data).hexdigest(), files=checksums)
