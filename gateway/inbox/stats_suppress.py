"""Small cells suppressed (``suppress``, which ``gateway.inbox.stats.gather`` applies to all that is
shown: the page, the API and the CSV): a figure that counts fewer than ``THRESHOLD`` residents is
not shown, so a rare language in a small hub does not point at someone; nor, where figures add up
to a total that is shown, as many others as it takes for the hidden ones not to be worked out by
subtraction. The residents behind a figure are its ``Tally`` (gateway.inbox.stats_counts), after
archived weeks are added to the rows' figures.
"""

from __future__ import annotations

import copy
from collections import defaultdict

from gateway.inbox.stats_counts import THRESHOLD, Tally, together

SUPPRESSED = "suppressed"  # what the CSV says for a suppressed figure
SUPPRESSION_NOTE = (
    f"Figures that count fewer than {THRESHOLD} residents are not shown (–, or "
    f'"{SUPPRESSED}" in the CSV), nor, where figures add up to a total shown beside them, '
    "as many others as it takes for the hidden ones not to be worked out from the total."
)
CHARTS = (
    "handoffs.by_hub",
    "handoffs.by_topic",
    "handoffs.by_language",
    "handoffs.by_week",
    "questions.by_language",
    "questions.by_week",
    "questions.by_topic",
    "outcomes.by_outcome",
)
CELLS = (
    ("handoffs", "handoffs.cells"),
    ("outcomes", "outcomes.cells"),
    ("questions", "questions.cells"),
    ("question_topics", "questions.topic_cells"),
)


def few(residents: int) -> bool:
    return 0 < residents < THRESHOLD


def _few(tally: Tally | None) -> bool:
    return tally is not None and tally.count > 0 and few(tally.residents)


def _protect(cells: dict[object, Tally], groups: list[list]) -> set:
    """The keys of ``cells`` to hide: those of fewer than ``THRESHOLD`` residents; then, in each
    group of cells that add up to a figure shown elsewhere, the smallest others until the hidden
    ones are at least two and together ``THRESHOLD`` residents or more.
    (Hand-written: statistical offices' tools for this, such as tau-argus, are not Python libraries.)"""
    hidden = {key for key, tally in cells.items() if _few(tally)}
    changed = True
    while changed:
        changed = False
        for group in groups:
            gone = [key for key in group if key in hidden]
            if not gone or (len(gone) >= 2 and not few(together(cells[key] for key in gone))):
                continue
            shown = sorted(
                (key for key in group if key not in hidden and key in cells and cells[key].count),
                key=lambda key: (cells[key].residents, cells[key].count, str(key)),
            )
            if shown:
                hidden.add(shown[0])
                changed = True
    return hidden


def _by_dimension(keys) -> list[list]:
    """Groups of tuple keys sharing one part (a week, a hub...): each adds up to a figure of a chart."""
    groups: dict[tuple, list] = defaultdict(list)
    for key in keys:
        for i, part in enumerate(key):
            groups[(i, part)].append(key)
    return list(groups.values())


def suppress(figures: dict) -> dict:
    """The figures as they may be shown: a suppressed count or median is None (``suppressed``: True
    on a bar or row), and None in ``_cells`` (the CSV's)."""

    def tallies(name: str) -> dict[object, Tally]:
        return figures["_tallies"].get(name, {})

    shown = copy.deepcopy({key: value for key, value in figures.items() if not key.startswith("_")})
    shown["_cells"] = {name: dict(cells) for name, cells in figures["_cells"].items()}  # numbers: no deep copy
    for section in ("handoffs", "questions"):
        if _few(tallies(f"{section}.total").get("all")):
            shown[section]["total"] = None
    for section in ("first_reply", "outcomes"):  # answered + unanswered, closed + still open: the total
        split = tallies(f"{section}.split")
        for key in _protect(split, [list(split)]):
            shown[section][key] = None
    for name in CHARTS:
        section, chart = name.split(".")
        hidden = _protect(tallies(name), [list(tallies(name))])
        for bar in shown[section][chart]:
            bar["suppressed"] = bar["key"] in hidden
            bar["count"] = None if bar["suppressed"] else bar["count"]
    for name, chart in (("waits.by_hub", "by_hub"), ("waits.by_week", "by_week")):
        for bar in shown["first_reply"][chart]:
            bar["suppressed"] = _few(tallies(name).get(bar["key"]))
            if bar["suppressed"]:
                bar["median_minutes"] = bar["count"] = None
    if _few(tallies("waits.all").get("all")):
        shown["first_reply"]["median_minutes"] = None
    cells = shown["_cells"]
    for name, figure in CELLS:
        for key in _protect(tallies(figure), _by_dimension(tallies(figure))):
            cells[name][key] = None
    for row in shown["questions"]["by_language_and_week"]:
        row["suppressed"] = cells["questions"][(row["week"], row["language"])] is None
        row["count"] = None if row["suppressed"] else row["count"]
    for key, tally in tallies("waits.cells").items():
        if _few(tally):
            cells["waits"][key] = None
    return shown
