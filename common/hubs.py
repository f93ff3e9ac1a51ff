"""Hubs, the places residents name, and the hub for a place.

The data lives in ``data/hubs.yml`` (the hubs) and ``data/places.yml`` (the
gazetteer), both edited by operators; this module reads them, matches what a
resident writes to a place, and routes by great-circle distance.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

import yaml
from rapidfuzz.distance import OSA

from common.languages import fold
from common.paths import ROOT

HUBS_FILE = ROOT / "data" / "hubs.yml"
PLACES_FILE = ROOT / "data" / "places.yml"


@dataclass(frozen=True)
class HubInfo:
    slug: str
    name: str
    area: str
    municipality: str
    point: tuple[float, float] | None
    address: str | None = None
    opening_hours: str | None = None
    phone: str | None = None
    email: str | None = None
    # False: kept in the data (and the database) but not confirmed active, so
    # never offered to residents: not in the numbered list, never routed to.
    active: bool = True


@dataclass(frozen=True)
class Place:
    name: str
    point: tuple[float, float] | None
    aliases: tuple[str, ...] = field(default=())
    municipality: str = "Göteborg"
    hub: str | None = None  # a hub's slug: routes there without measuring
    outside: bool = False  # in a municipality without a hub
    scripts: tuple[str, ...] = field(default=())  # our transliterations (ar, fa, so, ti)
    postal_codes: tuple[tuple[int, int], ...] = field(default=())
    # The name (and its scripts) is shared with places elsewhere ("Norrby",
    # "Sjöbo"): it matches only when the message also names one of these
    # (a place's name stands for all its names). Aliases always match.
    only_with: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Directory:
    hubs: tuple[HubInfo, ...]
    places: tuple[Place, ...]

    @property
    def listed(self) -> tuple[HubInfo, ...]:
        """Every active hub, in file order: the numbered list residents see and choose from."""
        return tuple(h for h in self.hubs if h.active)

    @property
    def routable(self) -> tuple[HubInfo, ...]:
        """Active hubs with a known point: the ones nearest-hub routing measures to."""
        return tuple(h for h in self.listed if h.point is not None)

    @property
    def served(self) -> frozenset[str]:
        """Municipalities that have an active hub."""
        return frozenset(h.municipality for h in self.listed)

    def hub(self, slug: str) -> HubInfo:
        return next(h for h in self.hubs if h.slug == slug)

    @cached_property
    def names(self) -> dict[str, Place]:
        """Every normalised name a place answers to (built once: matching runs on many turns)."""
        return _names(self)

    @cached_property
    def shared_names(self) -> dict[str, tuple[tuple[Place, frozenset[str]], ...]]:
        """Names that match only with context (``only_with``): each with its
        places and, for each, the normalised names that must also be there."""
        return _shared_names(self)


def _active(hub: dict) -> bool:
    value = hub.get("active", True)
    if not isinstance(value, bool):
        raise ValueError(f"data/hubs.yml: {hub.get('slug')}: active must be true or false, not {value!r}")
    return value


def _point(value) -> tuple[float, float] | None:
    return (float(value[0]), float(value[1])) if value else None


def _codes(ranges) -> tuple[tuple[int, int], ...]:
    """ "418 30-418 43" -> ((41830, 41843),); a single code is a range of one."""
    found = []
    for text in ranges or ():
        first, _, last = str(text).partition("-")
        low = int(first.replace(" ", ""))
        found.append((low, int(last.replace(" ", "")) if last else low))
    return tuple(found)


def load(path: Path = HUBS_FILE, places_path: Path = PLACES_FILE) -> Directory:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    hubs = tuple(
        HubInfo(
            slug=h["slug"],
            name=h["name"],
            area=h["area"],
            municipality=h["municipality"],
            point=_point(h.get("point")),
            address=h.get("address"),
            opening_hours=h.get("opening_hours"),
            phone=h.get("phone"),
            email=h.get("email"),
            active=_active(h),
        )
        for h in raw["hubs"]
    )
    served = {h.municipality for h in hubs if h.active}
    entries = list(raw.get("places") or ())
    if places_path.exists():
        entries += yaml.safe_load(places_path.read_text(encoding="utf-8")).get("places") or ()
    places = tuple(
        Place(
            name=p["name"],
            point=_point(p.get("point")),
            aliases=tuple(p.get("aliases") or ()),
            municipality=p.get("municipality", "Göteborg"),
            hub=p.get("hub"),
            outside=p.get("municipality", "Göteborg") not in served,
            scripts=tuple(name for names in (p.get("scripts") or {}).values() for name in names),
            postal_codes=_codes(p.get("postal_codes")),
            only_with=tuple(p.get("only_with") or ()),
        )
        for p in entries
    )
    # Every active hub is a place by its own area name too, unless the gazetteer has it.
    named = {normalise(n) for p in places for n in (p.name, *p.aliases)}
    places += tuple(
        Place(h.area, h.point, municipality=h.municipality, hub=h.slug)
        for h in hubs
        if h.active and normalise(h.area) not in named
    )
    return Directory(hubs, places)


@lru_cache
def directory() -> Directory:
    return load()


def normalise(text: str) -> str:
    """Folded (``languages.fold``: lower case, no diacritics, Arabic and Persian
    letter forms together), letters and digits only, single spaces."""
    kept = "".join(ch if ch.isalnum() else " " for ch in fold(text))
    return " ".join(kept.split())


def _names(directory: Directory) -> dict[str, Place]:
    """The names that match on their own (a shared name's aliases included)."""
    names: dict[str, Place] = {}
    for place in directory.places:
        for name in place.aliases if place.only_with else (place.name, *place.aliases, *place.scripts):
            names.setdefault(normalise(name), place)
    # "Tynnered/Frölunda torg" also answers to each half.
    for place in directory.places:
        if not place.only_with:
            for part in place.name.split("/"):
                names.setdefault(normalise(part), place)
    return names


def _shared_names(directory: Directory) -> dict[str, tuple[tuple[Place, frozenset[str]], ...]]:
    shared: dict[str, list[tuple[Place, frozenset[str]]]] = {}
    for place in directory.places:
        if not place.only_with:
            continue
        context = set()
        for wanted in place.only_with:
            context.add(normalise(wanted))
            for other in directory.places:  # "Borås" stands for every name of the place Borås
                if normalise(other.name) == normalise(wanted) and other is not place:
                    context.update(normalise(n) for n in (other.name, *other.aliases, *other.scripts))
        for name in (place.name, *place.scripts):
            shared.setdefault(normalise(name), []).append((place, frozenset(context)))
    return {name: tuple(entries) for name, entries in shared.items()}


def label(place: Place, directory: Directory | None = None) -> str:
    """The place's name, with its municipality when another place has the
    same name ("Sjöbo (Borås)", "Sjöbo (Sjöbo)"): for tests, reports and logs."""
    directory = directory or globals()["directory"]()  # the module function below, shadowed by the argument
    twins = [p for p in directory.places if p.name == place.name]
    return f"{place.name} ({place.municipality})" if len(twins) > 1 else place.name


def allowed_typos(length: int) -> int:
    """Edits forgiven in a name of this many letters: none in short names
    ("Askim", "Kärra" are one letter from ordinary words), one up to nine
    letters, two from ten ("Hammarkullen", "Biskopsgården")."""
    return 0 if length <= 5 else 1 if length <= 9 else 2


def edit_distance(a: str, b: str, limit: int) -> int:
    """Edits between ``a`` and ``b``, an adjacent swap counting one ("hjlälbo" is one from
    "hjällbo"): rapidfuzz's optimal string alignment, the restricted Damerau-Levenshtein the
    matcher always used; ``limit + 1`` for anything past ``limit``."""
    return OSA.distance(a, b, score_cutoff=limit)


POSTAL_CODE = re.compile(r"(?<!\d)(\d{3}) ?(\d{2})(?!\d)")


def match_postal_code(text: str, directory: Directory) -> Place | None:
    for match in POSTAL_CODE.finditer(text):
        code = int(match.group(1) + match.group(2))
        for place in directory.places:
            if any(low <= code <= high for low, high in place.postal_codes):
                return place
    return None


def match_place(text: str, directory: Directory | None = None, known: str = "") -> Place | None:
    """The place a resident's message names, forgiving case, å/ä/ö, small typos
    (scaled to the name's length) and the name in Arabic, Persian or Tigrinya
    script; or the place of a known postal code. None when nothing matches.
    ``known`` is context the conversation already gave (the resident lives in
    "Borås"): it lets a name many places share count, as in the same message."""
    directory = directory or globals()["directory"]()  # the module function below, shadowed by the argument
    wanted = normalise(text)
    if not wanted:
        return None
    padded = f" {wanted} "
    names = directory.names
    # A name many places share ("Norrby", "Sjöbo") counts only with its
    # context in the same message ("Norrby, Borås") or the conversation's;
    # alone it matches nothing.
    with_context = f"{padded}{normalise(known)} " if known else padded
    context = [
        (name, place)
        for name, entries in directory.shared_names.items()
        for place, needed in entries
        if any(f" {n} " in with_context for n in needed)
    ]
    if context:
        names = dict(names)
        for name, place in context:
            names.setdefault(name, place)
    if wanted in names:
        return names[wanted]
    # A known name inside a longer message ("jag bor i hjällbo"): the longest,
    # but a district before its whole town ("Hjällbo, Göteborg", "Sjöbo i Borås").
    found = [name for name in names if f" {name} " in padded]
    if found:
        return names[min(found, key=lambda name: (_whole_town(names[name]), -len(name)))]
    place = match_postal_code(text, directory)
    if place is not None:
        return place
    # A misspelt name: the whole message, or one to three of its words.
    words = wanted.split()
    candidates = dict.fromkeys(
        [wanted, *(" ".join(words[i : i + n]) for n in (3, 2, 1) for i in range(len(words) - n + 1))]
    )
    best: tuple[int, int, str] | None = None
    for candidate in candidates:
        for name in names:
            limit = allowed_typos(min(len(name), len(candidate)))
            if limit == 0 or name[0] != candidate[0]:  # a first letter is rarely the typo
                continue
            distance = edit_distance(candidate, name, limit)
            if distance <= limit and (best is None or (distance, -len(name)) < best[:2]):
                best = (distance, -len(name), name)
    return names[best[2]] if best else None


def _whole_town(place: Place) -> bool:
    """A place that is a whole municipality ("Göteborg", "Borås", "Mölndal")."""
    return normalise(place.name) == normalise(place.municipality)


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle (haversine) distance."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def _located(hub: HubInfo) -> tuple[float, float]:
    """A routable hub's point (``Directory.routable`` holds only hubs with one)."""
    if hub.point is None:
        raise ValueError(f"hub {hub.slug} has no point to measure from")
    return hub.point


def nearest_hub(
    point: tuple[float, float], directory: Directory | None = None, municipality: str | None = None
) -> HubInfo | None:
    """The routable hub closest to ``point`` (in ``municipality`` if given);
    None when no hub there has a point."""
    directory = directory or globals()["directory"]()  # the module function below, shadowed by the argument
    hubs = [h for h in directory.routable if municipality is None or h.municipality == municipality]
    return min(hubs, key=lambda h: distance_km(point, _located(h))) if hubs else None


def hub_for(place: Place, directory: Directory | None = None) -> HubInfo | None:
    """The hub a place is handed to: its own hub if the gazetteer names one;
    else the nearest hub in its municipality, or, for a place outside the served
    municipalities, the nearest hub anywhere. None: ask with the numbered list."""
    directory = directory or globals()["directory"]()  # the module function below, shadowed by the argument
    if place.hub and directory.hub(place.hub).active:
        return directory.hub(place.hub)
    if place.point is None:
        return None
    if not place.outside:
        return nearest_hub(place.point, directory, place.municipality)
    hub = nearest_hub(place.point, directory)
    # A served town whose hubs have no point yet (Borås) may be closer than any
    # hub that has one: then the resident chooses from the list, rather than
    # being offered a hub in another town.
    towns = [
        p.point
        for p in directory.places
        if p.name in directory.served
        and p.point is not None
        and not any(h.municipality == p.name for h in directory.routable)
    ]
    if hub is not None and any(
        distance_km(place.point, town) < distance_km(place.point, _located(hub)) for town in towns
    ):
        return None
    return hub


def hub_by_number(text: str, directory: Directory | None = None) -> HubInfo | None:
    """A hub chosen by its number in the list residents are shown."""
    directory = directory or globals()["directory"]()  # the module function below, shadowed by the argument
    choice = text.strip().rstrip(".)")
    if choice.isdigit() and 1 <= int(choice) <= len(directory.listed):
        return directory.listed[int(choice) - 1]
    return None


def names_shared_place(text: str) -> bool:
    """Whether ``text`` is only a name many places share ("Norrby"): an answer about where,
    not a sentence to read a language from."""
    return normalise(text) in directory().shared_names
