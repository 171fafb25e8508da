"""A local Fingertips API: ``all_data/csv/by_indicator_id`` serving the real recorded export of indicator 93356
(County & UA, area type 102) byte for byte, and a header-only CSV for indicators it does not hold."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.servers import FakeServer, Reply, Request

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
EXPORT_FILE = FIXTURES / "fingertips-93356-CountyUA.csv"
RECORDED = (93356, 102)  # (indicator id, area type id) of the recorded export
CSV = "text/csv"


class FingertipsFake(FakeServer):
    """Fingertips on 127.0.0.1."""

    def __init__(self) -> None:
        super().__init__()
        self.export = EXPORT_FILE.read_bytes()
        # the export's own header line (up to the first CRLF): what Fingertips sends when no rows match
        self.header_only = self.export[: self.export.index(b"\r\n") + 2]

    @property
    def base_url(self) -> str:
        return f"{self.origin}/api/"

    def handle(self, request: Request) -> tuple[Reply, dict[str, Any]]:
        fault = self.next_fault()
        if isinstance(fault, int):
            return Reply(fault, b"", "text/html"), {"injected": True}
        if request.path != "/api/all_data/csv/by_indicator_id":
            return Reply(404, b"", "text/html"), {}
        params = request.params
        area_type = params.get("area_type_id") or params.get("child_area_type_id")
        try:
            ids = {int(part) for part in params["indicator_ids"].split(",")}
            area_type_id = int(area_type or "")
        except (KeyError, ValueError):
            return Reply(400, b"", "text/html"), {}
        if RECORDED[0] in ids and area_type_id == RECORDED[1]:
            return Reply(200, self.export, CSV), {"recorded": True}
        return Reply(200, self.header_only, CSV), {"recorded": False}
