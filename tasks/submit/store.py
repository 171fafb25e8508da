"""Where a built package is kept: once under its identity checksum (the store), and under the readable name
``<partnership>_<deadline>_<2022-23>_v<version>.zip`` that is offered to reviewers, linked and attached."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from tasks.shared.atomic_file import write_atomically
from tasks.shared.context import CycleContext
from tasks.shared.storage.models import DeadlineRow, Submission
from tasks.shared.storage.session import session_scope
from tasks.submit.package import Package, identity_of, readable_name


@dataclass(frozen=True)
class StoredPackage:
    """The readable copy (``path``, what is offered) and the identity-named copy it was taken from."""

    path: Path
    content_path: Path
    sha256: str  # the identity checksum
    version: int


def _identity_or_none(path: Path) -> str | None:
    try:
        return identity_of(path.read_bytes())
    except (OSError, ValueError):
        return None


def package_version(ctx: CycleContext, deadline_id: str, identity: str) -> int:
    """The package's version for its deadline: its place among the packages recorded for that deadline and year
    (a package already recorded keeps its number; a new one comes next)."""
    with session_scope(ctx.database_url) as session:
        recorded = session.scalars(
            select(Submission.package_sha256)
            .join(DeadlineRow, DeadlineRow.id == Submission.deadline_row_id)
            .where(DeadlineRow.partnership == ctx.partnership_id, DeadlineRow.deadline_id == deadline_id,
                   DeadlineRow.period == ctx.year_label)
            .order_by(Submission.id)
        ).all()
    seen = list(dict.fromkeys(recorded))
    return seen.index(identity) + 1 if identity in seen else len(seen) + 1


def store_package(ctx: CycleContext, package: Package, deadline_id: str, version: int | None = None) -> StoredPackage:
    """Keep the package under ``<id[:2]>/<identity>.zip`` (the same content built again keeps the first copy, and
    with it the time it was first built) and offer it as ``<partnership>_<deadline>_<year>_v<n>.zip``; a version
    number already naming other content is never reused."""
    folder = ctx.settings.submissions_dir / ctx.partnership_id
    content_path = folder / package.sha256[:2] / f"{package.sha256}.zip"
    if _identity_or_none(content_path) != package.sha256:
        write_atomically(content_path, package.data, mode=0o600)  # whole or not at all, on disk before named
    data = content_path.read_bytes()
    number = version or package_version(ctx, deadline_id, package.sha256)
    while True:
        path = folder / readable_name(ctx.partnership_id, deadline_id, ctx.year_label, number)
        held = _identity_or_none(path) if path.exists() else None
        if held is None or held == package.sha256:
            break
        number += 1
    if held is None:
        write_atomically(path, data, mode=0o600)
    return StoredPackage(path=path, content_path=content_path, sha256=package.sha256, version=number)
