"""Parse the seed page's Markdown table: the specification of the matrix page."""

from __future__ import annotations

import re
from pathlib import Path

LINK = re.compile(r"\[([^\]]+)\]\(([^)]+)\)")


def split_row(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split(" | ")]


def parse_table(text: str) -> tuple[list[str], list[list[str]]]:
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    header = split_row(lines[0])
    rows = [split_row(line) for line in lines[2:]]
    return header, rows


def seed_table(path: Path) -> tuple[list[str], list[list[str]]]:
    return parse_table(path.read_text(encoding="utf-8"))


def plain_text(cell: str) -> str:
    """What a reader sees of a Markdown cell: links as their text, no backticks."""
    return LINK.sub(r"\1", cell).replace("`", "")


def link_targets(cell: str) -> list[tuple[str, str]]:
    return LINK.findall(cell)
