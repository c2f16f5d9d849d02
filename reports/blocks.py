"""The blocks a report section holds besides tables: figures and notes, and the section itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

__all__ = ["Figure", "Note", "Section"]


@dataclass
class Figure:
    """An inline figure (SVG data URI) with a caption."""

    id: str
    title: str
    uri: str
    caption: str = ""
    kind: ClassVar[str] = "figure"


@dataclass
class Note:
    """A paragraph of explanation (``cls``: ``""``, ``"warn"``)."""

    text: str
    cls: str = ""
    kind: ClassVar[str] = "note"


@dataclass
class Section:
    """A report section: a heading and blocks (tables, figures, notes) in order; a
    ``collapsed`` one shows its heading and ``summary`` until opened."""

    id: str
    title: str
    blocks: list[Any] = field(default_factory=list)
    subtitle: str = ""
    collapsed: bool = False
    summary: str = ""
