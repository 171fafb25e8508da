"""Message text from Jinja2 templates kept in the repository: each stage's templates/ plus the shared frame."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import ChoiceLoader, Environment, PackageLoader, StrictUndefined, select_autoescape

from tasks.shared.config import Partnership

SHARED_PACKAGE = "tasks.shared"


@lru_cache(maxsize=None)
def template_environment(stage_package: str) -> Environment:
    """A stage's templates first, then the shared e-mail frame; HTML templates are autoescaped (partner-supplied
    values such as file names and cell values must never become markup)."""
    loaders = [PackageLoader(stage_package, "templates")]
    if stage_package != SHARED_PACKAGE:
        loaders.append(PackageLoader(SHARED_PACKAGE, "templates"))
    environment = Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,  # a missing value is a bug, not a blank in a partner's e-mail
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["thousands"] = lambda value: f"{value:,}"
    environment.filters["percent"] = lambda value: f"{value:.1f}%"
    return environment


def render_parts(stage_package: str, name: str, partnership: Partnership, **values: Any) -> tuple[str, str]:
    """The plain-text and HTML parts of a message: ``<name>.txt`` and ``<name>.html`` of the stage's templates."""
    environment = template_environment(stage_package)
    values = {"partnership": partnership, "contact": partnership.contact, **values}
    text = environment.get_template(f"{name}.txt").render(**values)
    html = environment.get_template(f"{name}.html").render(**values)
    return text, html
