"""Markdown tables for the site's macros: one row builder, `|` in a cell escaped."""

from __future__ import annotations


def row(cells: list[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def table(head: list[str], rows: list[list[str]]) -> str:
    return "\n".join([row(head), row(["---"] * len(head)), *(row(r) for r in rows)])
