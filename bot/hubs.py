"""Hubs, the places residents name, and the nearest hub to a place.

The data lives in ``data/hubs.yml`` (edited by operators); this module reads
it, matches what a resident writes to a place, and routes by great-circle
distance.
"""
from __future__ import annotations

import difflib
import math
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from bot.settings import ROOT

HUBS_FILE = ROOT / "data" / "hubs.yml"


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


@dataclass(frozen=True)
class Place:
    name: str
    point: tuple[float, float]
    aliases: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Directory:
    hubs: tuple[HubInfo, ...]
    places: tuple[Place, ...]

    @property
    def routable(self) -> tuple[HubInfo, ...]:
        """Hubs with a known point, in file order: the numbered list residents see."""
        return tuple(h for h in self.hubs if h.point is not None)

    def hub(self, slug: str) -> HubInfo:
        return next(h for h in self.hubs if h.slug == slug)


def load(path: Path = HUBS_FILE) -> Directory:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    hubs = tuple(
        HubInfo(
            slug=h["slug"], name=h["name"], area=h["area"], municipality=h["municipality"],
            point=tuple(h["point"]) if h.get("point") else None,
            address=h.get("address"), opening_hours=h.get("opening_hours"),
            phone=h.get("phone"), email=h.get("email"),
        )
        for h in raw["hubs"]
    )
    places = tuple(
        Place(p["name"], tuple(p["point"]), tuple(p.get("aliases", ())))
        for p in raw.get("places", ())
    )
    # Every routable hub is a place by its own area name too.
    places += tuple(Place(h.area, h.point) for h in hubs if h.point is not None)
    return Directory(hubs, places)


@lru_cache
def directory() -> Directory:
    return load()


def normalise(text: str) -> str:
    """Lower case, no diacritics (å->a, ä->a, ö->o), single spaces."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    kept = "".join(ch if ch.isalnum() else " " for ch in plain)
    return " ".join(kept.split())


def _names(directory: Directory) -> dict[str, Place]:
    names: dict[str, Place] = {}
    for place in directory.places:
        for name in (place.name, *place.aliases):
            names.setdefault(normalise(name), place)
    # "Tynnered/Frölunda torg" also answers to each half.
    for place in directory.places:
        for part in place.name.split("/"):
            names.setdefault(normalise(part), place)
    return names


def match_place(text: str, directory: Directory | None = None) -> Place | None:
    """The place a resident's message names, forgiving case, å/ä/ö and small typos."""
    directory = directory or globals()["directory"]()
    names = _names(directory)
    wanted = normalise(text)
    if not wanted:
        return None
    if wanted in names:
        return names[wanted]
    # A known name inside a longer message ("jag bor i hjällbo").
    for name in sorted(names, key=len, reverse=True):
        if f" {name} " in f" {wanted} ":
            return names[name]
    words = wanted.split()
    candidates = [wanted, *(" ".join(words[i:i + n]) for n in (1, 2) for i in range(len(words)))]
    for candidate in candidates:
        close = difflib.get_close_matches(candidate, names, n=1, cutoff=0.8)
        if close and len(candidate) >= 4:
            return names[close[0]]
    return None


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle (haversine) distance."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def nearest_hub(point: tuple[float, float], directory: Directory | None = None) -> HubInfo:
    directory = directory or globals()["directory"]()
    return min(directory.routable, key=lambda h: distance_km(point, h.point))


def hub_by_number(text: str, directory: Directory | None = None) -> HubInfo | None:
    """A hub chosen by its number in the list residents are shown."""
    directory = directory or globals()["directory"]()
    choice = text.strip().rstrip(".")
    if choice.isdigit() and 1 <= int(choice) <= len(directory.routable):
        return directory.routable[int(choice) - 1]
    return None


def sync_to_database(session) -> None:
    """Insert or update the ``hubs`` table from the data file."""
    from sqlalchemy import select

    from bot.models import Hub

    existing = {h.slug: h for h in session.scalars(select(Hub))}
    for info in directory().hubs:
        row = existing.get(info.slug) or Hub(slug=info.slug)
        row.name, row.municipality = info.name, info.municipality
        row.lat, row.lon = info.point if info.point else (None, None)
        row.address, row.opening_hours = info.address, info.opening_hours
        row.phone, row.email = info.phone, info.email
        row.active = True
        session.add(row)
