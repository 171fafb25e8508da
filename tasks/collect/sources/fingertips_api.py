"""OHID Fingertips API: an indicator's full CSV export (the same bytes the website's download gives)."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urljoin

import requests

EXPORT_PATH = "all_data/csv/by_indicator_id"


class FingertipsApiError(RuntimeError):
    """Fingertips did not return the export (after retries)."""


def fetch_indicator_csv(
    session: requests.Session, base_url: str, indicator_ids: Iterable[int], area_type_id: int
) -> bytes:
    """The all-data CSV of the indicators for one area type, unchanged (for the raw store, then ``parse_export``)."""
    ids = ",".join(str(int(i)) for i in indicator_ids)
    if not ids:
        raise ValueError("at least one indicator id is needed")
    url = urljoin(base_url if base_url.endswith("/") else base_url + "/", EXPORT_PATH)
    response = session.get(url, params={"indicator_ids": ids, "area_type_id": str(int(area_type_id))})
    if response.status_code != 200:
        raise FingertipsApiError(f"GET {response.url} answered {response.status_code}")
    if not response.content.strip():
        raise FingertipsApiError(f"GET {response.url} answered an empty export")
    return response.content
