"""Deterministic sample files, in the exact official formats, for a small fictitious territory.

The demo and the integration tests serve the tree written by :func:`write_sample` over a local
HTTP server, as a mirror of the real publishers, so the files go through the real fetch and
parse path. Everything comes from one in-memory model, :class:`Territory`, built by
:func:`build_territory`: five real départements (2A, 71, 69, 974, 83) and their régions, filled
with fictitious communes (names made of syllables, codes in the real format), their EPCI,
populations, town-hall coordinates and density levels, for each geography vintage.

Each source has one writer taking the territory and the mirror root: the geography writers
are here (:data:`GEOGRAPHY_WRITERS`); every other source has a module of its own in this
package, deriving its data from the same territory so that all sample files agree.

Geography story told by the sample:

* 69123 is a Paris/Lyon/Marseille-style city with nine arrondissements municipaux
  (69381…69389) and the centre of a métropole (EPCI type ``MET69``, collectivity ``69M``).
* In 71, a commune nouvelle created on 2017-01-01 has two communes déléguées, and in 69 a
  commune has had a commune associée since 1973; both are the same in every vintage.
* On 2026-01-01 three communes nouvelles are created (two in 71, one of them from three
  communes, and one in 69): the absorbed codes become communes déléguées.
* In 974 a commune was renamed on 2025-01-01; the communes of 2A carry their pre-1976 code
  (20xxx) in ``anciensCodes``, as in the real files.
"""

from __future__ import annotations

import csv
import io
import json
import math
import random
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

SAMPLE_GEOGRAPHY_VINTAGES = ("2025", "2026")
DEFAULT_SEED = 20261125

SAMPLE_NOTICE = (
    "Fictitious sample data: the communes of this territory, their names, codes, populations, "
    "EPCI and coordinates are generated for the demo and the tests and describe no real place; "
    "only the names and codes of the départements and régions are real."
)

COMMUNE_ACTUELLE = "commune-actuelle"
COMMUNE_DELEGUEE = "commune-deleguee"
COMMUNE_ASSOCIEE = "commune-associee"
ARRONDISSEMENT_MUNICIPAL = "arrondissement-municipal"

# Article written before the name for each INSEE TNCC value (0 and 1: no article).
ARTICLES = {0: "", 1: "", 2: "Le ", 3: "La ", 4: "Les ", 5: "L'", 6: "Aux ", 7: "Las ", 8: "Los "}


# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Region:
    """A région (real code and name)."""

    code: str
    nom: str
    tncc: int
    zone: str
    chef_lieu: str


@dataclass(frozen=True)
class Departement:
    """A département (real code and name) and the box its sample town halls fall in."""

    code: str
    nom: str
    region: str
    tncc: int
    zone: str
    ctcd: str
    chef_lieu: str
    bounds: tuple[float, float, float, float]  # lon_min, lon_max, lat_min, lat_max (WGS84)


@dataclass(frozen=True)
class Commune:
    """One entry of a geography vintage: a commune, a déléguée/associée or an arrondissement.

    ``name`` is the name without its article (INSEE NCCENR); :attr:`libelle` adds it.
    ``parent`` is the chef-lieu of a déléguée/associée or the commune of an arrondissement
    municipal. ``epci``, ``siren`` and ``former_codes`` are set for communes actuelles only;
    populations for communes actuelles and arrondissements municipaux only.
    """

    code: str
    type: str
    name: str
    tncc: int
    departement: str
    region: str
    arrondissement: str
    canton: str
    ctcd: str
    parent: str | None
    epci: str | None
    population: int | None
    population_totale: int | None
    lon: float
    lat: float
    density_level: int
    postal_codes: tuple[str, ...]
    siren: str | None
    former_codes: tuple[str, ...]

    @property
    def libelle(self) -> str:
        """Name with its article, as INSEE LIBELLE and Etalab ``nom``."""
        return ARTICLES[self.tncc] + self.name

    @property
    def ncc(self) -> str:
        """Name in upper case without accents, hyphens or apostrophes (INSEE NCC)."""
        return normalized_name(self.name)


@dataclass(frozen=True)
class Epci:
    """An EPCI à fiscalité propre of one geography vintage."""

    code: str
    nom: str
    type: str
    financing: str
    members: tuple[str, ...]


@dataclass(frozen=True)
class Movement:
    """One row of the INSEE commune movements file (v_mvt_commune)."""

    mod: int
    date: str
    typecom_before: str
    code_before: str
    tncc_before: int
    name_before: str
    typecom_after: str
    code_after: str
    tncc_after: int
    name_after: str


@dataclass(frozen=True)
class Merger:
    """A commune nouvelle: the code it keeps, its name and the codes it was made of."""

    date: str
    code: str
    name: str
    tncc: int
    predecessors: tuple[str, ...]

    @property
    def vintage(self) -> str:
        """First geography vintage in which the commune nouvelle exists."""
        return self.date[:4]


@dataclass(frozen=True)
class Geography:
    """The communes and EPCI of one geography vintage (COG at 1 January)."""

    vintage: str
    communes: tuple[Commune, ...]
    epcis: tuple[Epci, ...]

    @property
    def actuelles(self) -> tuple[Commune, ...]:
        """The communes actuelles, sorted by code."""
        return tuple(c for c in self.communes if c.type == COMMUNE_ACTUELLE)

    def commune(self, code: str) -> Commune:
        """The commune actuelle or arrondissement municipal with this code."""
        for entry in self.communes:
            if entry.code == code and entry.type in (COMMUNE_ACTUELLE, ARRONDISSEMENT_MUNICIPAL):
                return entry
        raise KeyError(f"no commune or arrondissement {code} in the {self.vintage} sample geography")


@dataclass(frozen=True)
class Territory:
    """The whole sample territory: régions, départements and one geography per vintage."""

    seed: int
    regions: tuple[Region, ...]
    departements: tuple[Departement, ...]
    geographies: Mapping[str, Geography]
    movements: tuple[Movement, ...]
    mergers: tuple[Merger, ...]

    def geography(self, vintage: str) -> Geography:
        """The geography of a vintage among :data:`SAMPLE_GEOGRAPHY_VINTAGES`."""
        try:
            return self.geographies[vintage]
        except KeyError:
            raise KeyError(
                f"no {vintage} geography in the sample; vintages are {', '.join(self.geographies)}"
            ) from None

    def populations(self, code: str) -> dict[str, int]:
        """Population municipale of a commune or arrondissement for each vintage it exists in."""
        result = {}
        for vintage, geography in self.geographies.items():
            for entry in geography.communes:
                if entry.code == code and entry.population is not None:
                    result[vintage] = entry.population
        return result


def normalized_name(name: str) -> str:
    """INSEE NCC form of a name: upper case, no accents, hyphens and apostrophes as spaces."""
    text = name.replace("Œ", "OE").replace("œ", "oe").replace("Æ", "AE").replace("æ", "ae")
    text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    return text.upper().replace("-", " ").replace("'", " ")


# --------------------------------------------------------------------------------------------
# What the sample territory is made of
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _NameStyle:
    roots: tuple[str, ...]
    endings: tuple[str, ...]
    patterns: tuple[str, ...]  # "{a}" and "{b}" are generated words


@dataclass(frozen=True)
class _DepartementSpec:
    code: str
    nom: str
    region: str
    tncc: int
    zone: str
    ctcd: str
    chef_lieu: str
    chef_lieu_lonlat: tuple[float, float]
    chef_lieu_population: int  # 0 for the city with arrondissements (sum of them)
    bounds: tuple[float, float, float, float]
    arrondissements: tuple[str, ...]  # the chef-lieu's first
    commune_count: int  # communes actuelles in the first vintage
    highest_number: int  # commune numbers are drawn in 1..highest_number
    town_sizes: tuple[int, ...]
    village_median: int
    canton_count: int
    postal_prefix: str
    epcis: tuple[tuple[str, str], ...]  # (type, financing), the chef-lieu's first
    style: _NameStyle
    city_with_arrondissements: bool = False
    suburb_sizes: tuple[int, ...] = ()  # communes of the métropole around that city
    commune_nouvelle_2017: bool = False
    association_1973: bool = False
    renamed_2025: bool = False
    former_corsica_codes: bool = False
    mergers_2026: tuple[int, ...] = ()  # number of communes merged in each commune nouvelle


_BOURGOGNE = _NameStyle(
    roots=("Bran", "Cor", "Dam", "Ger", "Lour", "Marc", "Pal", "Rul", "Sav", "Tram", "Ver", "Char",
           "Mon", "Cluz", "Bour", "Sen", "Vil", "Aum", "Épi", "Ous", "Hur", "Fla", "Pres", "Bel"),
    endings=("ay", "ey", "y", "ans", "ot", "eux", "ange", "ière", "igny", "ennes", "oux", "ogne",
             "ecy", "ize", "agny"),
    patterns=("{a}", "{a}", "{a}", "{a}", "{a}", "Saint-{a}", "{a}-sur-{b}", "{a}-en-{b}",
              "{a}-lès-{b}", "{a}-le-Grand", "{a}-la-{b}"),
)
_LYONNAIS = _NameStyle(
    roots=("Bre", "Cha", "Dar", "Four", "Gleiz", "Lanc", "Mar", "Mor", "Pom", "Quin", "Rig", "Sour",
           "Tal", "Vaux", "Bul", "Cer", "Déc", "Jar", "Lis", "Ois", "Yz", "Am", "Éc", "Gré"),
    endings=("ieu", "ieux", "as", "y", "in", "age", "ay", "oud", "eins", "onne", "ié", "ins", "ost"),
    patterns=("{a}", "{a}", "{a}", "{a}", "Saint-{a}", "Sainte-{a}", "{a}-sur-{b}", "{a}-en-{b}",
              "{a}-le-Haut", "{a}-les-{b}"),
)
_CORSE = _NameStyle(
    roots=("Al", "Bast", "Cal", "Cor", "Fic", "Gual", "Lor", "Mor", "Niol", "Olm", "Petr", "Quer",
           "Rocc", "Sarr", "Tav", "Urb", "Vall", "Zic", "Can", "Pil", "Sorb", "Ghis", "Mur", "Lev"),
    endings=("ano", "ella", "etto", "accia", "ola", "inu", "ara", "ino", "ica", "ese", "ale",
             "ogna", "ellu"),
    patterns=("{a}", "{a}", "{a}", "{a}", "{a}-di-{b}", "San-{a}", "Santa-{a}", "{a}-{b}"),
)
_REUNION = _NameStyle(
    roots=("Sala", "Cila", "Mafa", "Tampo", "Bélou", "Palmi", "Ména", "Tamar", "Bernic", "Cambo",
           "Gol", "Vinc", "Ravi", "Mahav", "Piton"),
    endings=("zie", "os", "te", "ne", "ris", "lle", "ac", "ette", "our"),
    patterns=("{a}", "{a}", "Saint-{a}", "Sainte-{a}", "Bras-{a}", "Petite-{a}", "{a}-Rivière"),
)

_PROVENCE = _NameStyle(
    roots=("Barj", "Cotign", "Lorg", "Salern", "Tourt", "Flay", "Aub", "Brign", "Call", "Monf", "Seill",
           "Vins", "Carc", "Rians", "Bauduen", "Pontev", "Cuers", "Ollioul", "Bandol", "Sanar"),
    endings=("ac", "ans", "ols", "osc", "ès", "as", "ourde", "ière", "oles", "ignac", "ane", "uès"),
    patterns=("{a}", "{a}", "{a}", "{a}", "Saint-{a}", "{a}-sur-{b}", "{a}-en-Provence", "{a}-les-Maures",
              "{a}-des-Bois"),
)

_DEPARTEMENT_SPECS = (
    _DepartementSpec(
        code="2A", nom="Corse-du-Sud", region="94", tncc=3, zone="metro", ctcd="20R",
        chef_lieu="2A004", chef_lieu_lonlat=(8.738, 41.926), chef_lieu_population=52_000,
        bounds=(8.60, 9.40, 41.38, 42.35), arrondissements=("2A1", "2A4"),
        commune_count=70, highest_number=365,
        town_sizes=(12_500, 4_800, 3_900, 3_100, 2_600), village_median=180, canton_count=7,
        postal_prefix="20", epcis=(("CA", "FPU"), ("CC", "FPU"), ("CC", "FA"), ("CC", "FPU")),
        style=_CORSE, former_corsica_codes=True,
    ),
    _DepartementSpec(
        code="69", nom="Rhône", region="84", tncc=2, zone="metro", ctcd="69D",
        chef_lieu="69123", chef_lieu_lonlat=(4.835, 45.758), chef_lieu_population=0,
        bounds=(4.25, 5.15, 45.45, 46.30), arrondissements=("691", "692"),
        commune_count=72, highest_number=299,
        town_sizes=(36_000, 8_200, 5_600, 4_300), village_median=850, canton_count=6,
        postal_prefix="69", epcis=(("MET69", "FPU"), ("CA", "FPU"), ("CC", "FPU"), ("CC", "FPU")),
        style=_LYONNAIS, city_with_arrondissements=True,
        suburb_sizes=(41_000, 28_000, 19_000, 15_000, 12_000, 9_500, 7_800, 6_200, 5_100, 4_300,
                      3_800, 2_600),
        association_1973=True, mergers_2026=(2,),
    ),
    _DepartementSpec(
        code="71", nom="Saône-et-Loire", region="27", tncc=0, zone="metro", ctcd="71D",
        chef_lieu="71270", chef_lieu_lonlat=(4.830, 46.307), chef_lieu_population=34_000,
        bounds=(3.65, 5.45, 46.17, 47.15), arrondissements=("715", "711", "712", "713", "714"),
        commune_count=86, highest_number=590,
        town_sizes=(22_000, 16_000, 8_800, 6_900, 5_400, 4_100), village_median=480,
        canton_count=9, postal_prefix="71",
        epcis=(("CA", "FPU"), ("CU", "FPU"), ("CC", "FPU"), ("CC", "FA"), ("CC", "FPU")),
        style=_BOURGOGNE, commune_nouvelle_2017=True, mergers_2026=(2, 3),
    ),
    _DepartementSpec(
        code="974", nom="La Réunion", region="04", tncc=0, zone="drom", ctcd="974D",
        chef_lieu="97411", chef_lieu_lonlat=(55.448, -20.882), chef_lieu_population=55_000,
        bounds=(55.22, 55.84, -21.39, -20.87), arrondissements=("9741", "9742", "9743", "9744"),
        commune_count=12, highest_number=24,
        town_sizes=(45_000, 38_000, 31_000, 24_000, 18_000, 14_000, 11_000, 9_000, 7_500, 6_500,
                    5_200),
        village_median=5_000, canton_count=4, postal_prefix="974",
        epcis=(("CA", "FPU"), ("CA", "FPU"), ("CA", "FPU")),
        style=_REUNION, renamed_2025=True,
    ),
    # Last, so that the communes drawn for the départements above stay the same.
    _DepartementSpec(
        code="83", nom="Var", region="93", tncc=2, zone="metro", ctcd="83D",
        chef_lieu="83137", chef_lieu_lonlat=(5.930, 43.125), chef_lieu_population=61_000,
        bounds=(5.70, 6.90, 43.05, 43.75), arrondissements=("833", "831", "832"),
        commune_count=30, highest_number=155,
        town_sizes=(21_000, 14_500, 9_200, 6_400, 4_700, 3_600), village_median=650, canton_count=6,
        postal_prefix="83", epcis=(("CA", "FPU"), ("CA", "FPU"), ("CC", "FPU"), ("CC", "FA")),
        style=_PROVENCE,
    ),
)

# (code, name, TNCC, zone); each sample région's chef-lieu is its sample département's.
_REGIONS = (
    ("04", "La Réunion", 0, "drom"),
    ("27", "Bourgogne-Franche-Comté", 0, "metro"),
    ("84", "Auvergne-Rhône-Alpes", 1, "metro"),
    ("93", "Provence-Alpes-Côte d'Azur", 0, "metro"),
    ("94", "Corse", 0, "metro"),
)

_TYPE_ORDER = {COMMUNE_ACTUELLE: 0, ARRONDISSEMENT_MUNICIPAL: 0, COMMUNE_DELEGUEE: 1, COMMUNE_ASSOCIEE: 1}
_VILLAGE_MAX = 3_400
_METROPOLE_CTCD = "69M"


# --------------------------------------------------------------------------------------------
# Building the territory
# --------------------------------------------------------------------------------------------


@dataclass(eq=False)
class _Place:
    """A commune code while the territory is being built (compared by identity)."""

    code: str
    name: str
    tncc: int
    lon: float
    lat: float
    population: int = 0  # population municipale of the first vintage
    growth: float = 0.0
    counted_apart: float = 0.0  # share added to get the population totale
    density_level: int = 7
    arrondissement: str = ""
    canton: str = ""
    ctcd: str = ""
    epci: str = ""
    postal_codes: tuple[str, ...] = ()
    siren: str = ""
    former_codes: list[str] = field(default_factory=list)
    parts: list[_Place] = field(default_factory=list)  # arrondissements municipaux of a city

    def population_in(self, vintage: str) -> int:
        if self.parts:
            return sum(part.population_in(vintage) for part in self.parts)
        years = int(vintage) - int(SAMPLE_GEOGRAPHY_VINTAGES[0])
        return round(self.population * (1 + self.growth) ** years)

    def population_totale_in(self, vintage: str) -> int:
        if self.parts:
            return sum(part.population_totale_in(vintage) for part in self.parts)
        population = self.population_in(vintage)
        return population + round(population * self.counted_apart)


@dataclass(frozen=True)
class _Attached:
    """A commune déléguée or associée that exists in every sample vintage."""

    code: str
    type: str
    name: str
    tncc: int
    lon: float
    lat: float
    parent: str


@dataclass
class _DepartementPlan:
    spec: _DepartementSpec
    places: dict[str, _Place]  # communes actuelles of the first vintage, by code
    arrondissements_municipaux: list[_Place] = field(default_factory=list)
    attached: list[_Attached] = field(default_factory=list)
    epcis: list[tuple[str, str, str, str]] = field(default_factory=list)  # code, nom, type, financing
    mergers: list[Merger] = field(default_factory=list)
    movements: list[Movement] = field(default_factory=list)
    merger_sirens: dict[str, str] = field(default_factory=dict)  # commune nouvelle code → SIREN


def build_territory(seed: int = DEFAULT_SEED) -> Territory:
    """Build the sample territory for a seed; the same seed always gives the same territory."""
    used_names: set[str] = set()
    used_sirens: set[str] = set()
    plans = [_plan_departement(spec, seed, used_names, used_sirens) for spec in _DEPARTEMENT_SPECS]

    departements = tuple(
        Departement(
            code=p.spec.code, nom=p.spec.nom, region=p.spec.region, tncc=p.spec.tncc,
            zone=p.spec.zone, ctcd=p.spec.ctcd, chef_lieu=p.spec.chef_lieu, bounds=p.spec.bounds,
        )
        for p in plans
    )
    chef_lieu_of_region = {d.region: d.chef_lieu for d in departements}
    regions = tuple(
        Region(code=code, nom=nom, tncc=tncc, zone=zone, chef_lieu=chef_lieu_of_region[code])
        for code, nom, tncc, zone in _REGIONS
    )
    geographies = {vintage: _geography(vintage, plans) for vintage in SAMPLE_GEOGRAPHY_VINTAGES}
    movements = _sorted_movements(m for p in plans for m in p.movements)
    mergers = tuple(m for p in plans for m in p.mergers)
    return Territory(
        seed=seed,
        regions=regions,
        departements=departements,
        geographies=MappingProxyType(geographies),
        movements=movements,
        mergers=mergers,
    )


def _plan_departement(
    spec: _DepartementSpec, seed: int, used_names: set[str], used_sirens: set[str]
) -> _DepartementPlan:
    """Draw the communes of one département and everything attached to them."""
    rng = random.Random(f"{seed}:{spec.code}")
    extra_codes = int(spec.commune_nouvelle_2017) + int(spec.association_1973)
    codes = _draw_codes(rng, spec, spec.commune_count + extra_codes)

    places: dict[str, _Place] = {}
    for code in codes:
        if code == spec.chef_lieu:
            # A plain name without article, so that EPCI names built on it read naturally.
            plain = _NameStyle(spec.style.roots, spec.style.endings, ("{a}",))
            name, tncc = _draw_name(rng, plain, used_names, allow_article=False)
            lon, lat = spec.chef_lieu_lonlat
        else:
            name, tncc = _draw_name(rng, spec.style, used_names)
            lon, lat = _random_point(rng, spec.bounds)
        places[code] = _Place(code=code, name=name, tncc=tncc, lon=lon, lat=lat, ctcd=spec.ctcd)
    plan = _DepartementPlan(spec=spec, places=places)

    metropole = _nearest(places[spec.chef_lieu], _others(places, spec.chef_lieu), len(spec.suburb_sizes))
    for place in metropole:
        place.ctcd = _METROPOLE_CTCD
    if spec.city_with_arrondissements:
        places[spec.chef_lieu].ctcd = _METROPOLE_CTCD
    special = {spec.chef_lieu} | {p.code for p in metropole}

    if spec.commune_nouvelle_2017:
        _add_commune_nouvelle_2017(rng, plan, special, used_names, used_sirens)
    if spec.association_1973:
        _add_association_1973(rng, plan, special)
    _draw_populations(rng, plan, metropole, special)
    if spec.city_with_arrondissements:
        _add_arrondissements_municipaux(rng, plan)
    for place in places.values():
        if not place.siren:
            place.siren = _commune_siren(place.code)
        place.density_level = _density_level(rng, place.population, place.ctcd == _METROPOLE_CTCD)

    _assign_arrondissements(plan)
    _assign_cantons(plan)
    _assign_postal_codes(rng, plan)
    _assign_epcis(rng, plan, metropole, used_sirens)
    if spec.renamed_2025:
        _rename_2025(rng, plan, special, used_names)
    if spec.former_corsica_codes:
        _add_former_corsica_codes(plan)
    for size in spec.mergers_2026:
        _merge_2026(rng, plan, special, size, used_names, used_sirens)
    return plan


def _draw_codes(rng: random.Random, spec: _DepartementSpec, count: int) -> list[str]:
    """Commune codes: the département code and a number, in the real format."""
    chef_number = int(spec.chef_lieu[len(spec.code):])
    width = 5 - len(spec.code)
    numbers = [n for n in range(1, spec.highest_number + 1) if n != chef_number]
    chosen = rng.sample(numbers, count - 1) + [chef_number]
    return [f"{spec.code}{n:0{width}d}" for n in sorted(chosen)]


def _draw_word(rng: random.Random, style: _NameStyle) -> str:
    root, ending = rng.choice(style.roots), rng.choice(style.endings)
    if root[-1] in "aeiouéy" and ending[0] in "aeiouéy":
        root = root[:-1]
    return root + ending


def _draw_name(
    rng: random.Random, style: _NameStyle, used: set[str], allow_article: bool = True
) -> tuple[str, int]:
    """A fictitious commune name (without article) and its TNCC, unique in the territory."""
    while True:
        pattern = rng.choice(style.patterns)
        name = pattern.format(a=_draw_word(rng, style), b=_draw_word(rng, style))
        tncc = _tncc_without_article(name)
        if allow_article and pattern == "{a}" and rng.random() < 0.12:
            tncc = 5 if tncc == 1 else rng.choice((2, 3, 4))
        if name not in used and len(name) <= 38:
            used.add(name)
            return name, tncc


def _tncc_without_article(name: str) -> int:
    """TNCC 1 for a name starting with a vowel or H (charnière « d' »), else 0."""
    return 1 if normalized_name(name[0]) in "AEIOUYH" else 0


def _random_point(rng: random.Random, bounds: tuple[float, float, float, float]) -> tuple[float, float]:
    """A point in the ellipse inscribed in the box, which keeps it off the box corners."""
    lon_min, lon_max, lat_min, lat_max = bounds
    while True:
        u, v = rng.uniform(-1, 1), rng.uniform(-1, 1)
        if u * u + v * v <= 1:
            break
    lon = (lon_min + lon_max) / 2 + u * (lon_max - lon_min) / 2
    lat = (lat_min + lat_max) / 2 + v * (lat_max - lat_min) / 2
    return round(lon, 6), round(lat, 6)


def _point_near(
    rng: random.Random, lon: float, lat: float, radius: float, bounds: tuple[float, float, float, float]
) -> tuple[float, float]:
    lon_min, lon_max, lat_min, lat_max = bounds
    new_lon = min(lon_max, max(lon_min, lon + rng.uniform(-radius, radius)))
    new_lat = min(lat_max, max(lat_min, lat + rng.uniform(-radius, radius)))
    return round(new_lon, 6), round(new_lat, 6)


def _distance(a: _Place, b: _Place) -> float:
    """Distance in degrees of latitude, good enough to find neighbours."""
    scale = math.cos(math.radians((a.lat + b.lat) / 2))
    return math.hypot((a.lon - b.lon) * scale, a.lat - b.lat)


def _others(places: dict[str, _Place], *excluded: str) -> list[_Place]:
    return [p for code, p in places.items() if code not in excluded]


def _nearest(origin: _Place, candidates: Iterable[_Place], count: int) -> list[_Place]:
    return sorted(candidates, key=lambda p: (_distance(origin, p), p.code))[:count]


def _spread_centres(first: list[_Place], candidates: list[_Place], count: int) -> list[_Place]:
    """Add centres one at a time, each as far as possible from those already chosen."""
    centres = list(first)
    while len(centres) < count:
        remaining = [p for p in candidates if p not in centres]
        centres.append(max(remaining, key=lambda p: (min(_distance(p, c) for c in centres), p.code)))
    return centres


def _nearest_centre(place: _Place, centres: list[_Place]) -> int:
    return min(range(len(centres)), key=lambda i: (_distance(place, centres[i]), i))


def _luhn_complete(digits: str) -> str:
    """Append the check digit that makes a SIREN valid under the Luhn algorithm."""
    for check in "0123456789":
        total = 0
        for position, char in enumerate(reversed(digits + check)):
            value = int(char) * (2 if position % 2 else 1)
            total += value - 9 if value > 9 else value
        if total % 10 == 0:
            return digits + check
    raise AssertionError("unreachable: one check digit always fits")


def _commune_siren(code: str) -> str:
    """SIREN of a commune's town hall: 21, département, 0, number, check digit (as in reality)."""
    departement_length = 3 if code.startswith("97") else 2
    departement = {"2A": "20", "2B": "20"}.get(code[:2], code[:departement_length])
    return _luhn_complete("21" + departement + "0" + code[departement_length:])


def _new_siren(rng: random.Random, prefix: str, used: set[str]) -> str:
    while True:
        digits = prefix + "".join(rng.choice("0123456789") for _ in range(8 - len(prefix)))
        siren = _luhn_complete(digits)
        if siren not in used:
            used.add(siren)
            return siren


def _free_places(plan: _DepartementPlan, special: set[str]) -> list[_Place]:
    """Communes free for a special role, in code order."""
    return [p for code, p in plan.places.items() if code not in special]


def _add_commune_nouvelle_2017(
    rng: random.Random, plan: _DepartementPlan, special: set[str], used_names: set[str],
    used_sirens: set[str],
) -> None:
    """A commune nouvelle of 2017 whose two former communes stay communes déléguées."""
    candidates = [p for p in _free_places(plan, special) if p.tncc in (0, 1)]
    chef = rng.choice(candidates)
    absorbed = _nearest(chef, [p for p in _free_places(plan, special) if p is not chef], 1)[0]
    del plan.places[absorbed.code]

    old_name, old_tncc = chef.name, chef.tncc
    pays = _draw_word(rng, plan.spec.style)
    chef.name = f"{old_name} en {pays}"
    used_names.add(chef.name)
    chef.siren = _new_siren(rng, "2000", used_sirens)
    chef.former_codes.append(absorbed.code)
    special.update({chef.code, absorbed.code})

    plan.attached += [
        _Attached(chef.code, COMMUNE_DELEGUEE, old_name, old_tncc, chef.lon, chef.lat, chef.code),
        _Attached(absorbed.code, COMMUNE_DELEGUEE, absorbed.name, absorbed.tncc,
                  absorbed.lon, absorbed.lat, chef.code),
    ]
    date = "2017-01-01"
    for code, name, tncc in sorted([(chef.code, old_name, old_tncc),
                                    (absorbed.code, absorbed.name, absorbed.tncc)]):
        plan.movements += [
            Movement(32, date, "COM", code, tncc, name, "COM", chef.code, chef.tncc, chef.name),
            Movement(32, date, "COM", code, tncc, name, "COMD", code, tncc, name),
        ]


def _add_association_1973(rng: random.Random, plan: _DepartementPlan, special: set[str]) -> None:
    """A commune with a commune associée since a 1973 fusion-association."""
    chef = rng.choice(_free_places(plan, special))
    associated = _nearest(chef, [p for p in _free_places(plan, special) if p is not chef], 1)[0]
    del plan.places[associated.code]
    chef.former_codes.append(associated.code)
    special.update({chef.code, associated.code})
    plan.attached.append(_Attached(associated.code, COMMUNE_ASSOCIEE, associated.name,
                                   associated.tncc, associated.lon, associated.lat, chef.code))
    date = "1973-01-01"
    a, c = associated, chef
    plan.movements += [
        Movement(33, date, "COM", a.code, a.tncc, a.name, "COMA", a.code, a.tncc, a.name),
        Movement(33, date, "COM", a.code, a.tncc, a.name, "COM", c.code, c.tncc, c.name),
        Movement(33, date, "COM", c.code, c.tncc, c.name, "COM", c.code, c.tncc, c.name),
    ]


def _draw_populations(
    rng: random.Random, plan: _DepartementPlan, metropole: list[_Place], special: set[str]
) -> None:
    """Skewed populations: the chef-lieu, a few towns, the métropole's suburbs, many villages."""
    spec = plan.spec
    for place, size in zip(metropole, spec.suburb_sizes):
        place.population = round(size * rng.uniform(0.9, 1.1))
    towns = rng.sample(_free_places(plan, special), len(spec.town_sizes))
    for place, size in zip(towns, spec.town_sizes):
        place.population = round(size * rng.uniform(0.9, 1.1))
    for place in plan.places.values():
        if place.code == spec.chef_lieu:
            place.population = round(spec.chef_lieu_population * rng.uniform(0.95, 1.05))
        elif place.population == 0:
            drawn = rng.lognormvariate(math.log(spec.village_median), 0.85)
            place.population = int(min(_VILLAGE_MAX, max(25, drawn)))
        place.growth = max(-0.03, min(0.04, rng.gauss(0.004, 0.01)))
        place.counted_apart = rng.uniform(0.005, 0.035)


def _add_arrondissements_municipaux(rng: random.Random, plan: _DepartementPlan) -> None:
    """Nine arrondissements municipaux (69381…69389); the city's population is their sum."""
    spec = plan.spec
    city = plan.places[spec.chef_lieu]
    for number in range(1, 10):
        suffix = "er" if number == 1 else "e"
        lon, lat = _point_near(rng, city.lon, city.lat, 0.03, spec.bounds)
        arm = _Place(
            code=f"{spec.code}{380 + number}", name=f"{city.name} {number}{suffix} Arrondissement",
            tncc=city.tncc, lon=lon, lat=lat, ctcd=city.ctcd,
            population=rng.randint(14_000, 32_000),
            growth=max(-0.03, min(0.04, rng.gauss(0.004, 0.008))),
            counted_apart=rng.uniform(0.005, 0.02), density_level=1,
        )
        plan.arrondissements_municipaux.append(arm)
    city.parts = plan.arrondissements_municipaux
    city.population = city.population_in(SAMPLE_GEOGRAPHY_VINTAGES[0])


def _density_level(rng: random.Random, population: int, urban: bool) -> int:
    """Level of the INSEE grille communale de densité (1 dense … 7 very sparse)."""
    if population >= 30_000:
        return 1
    if population >= 10_000:
        return 1 if urban else 2
    if population >= 3_500:
        return 2 if urban else rng.choice((3, 4))
    if population >= 1_000:
        return 3 if urban else rng.choice((4, 5))
    if population >= 300:
        return rng.choice((5, 6))
    return rng.choice((6, 7))


def _assign_arrondissements(plan: _DepartementPlan) -> None:
    spec = plan.spec
    places = list(plan.places.values())
    centres = _spread_centres([plan.places[spec.chef_lieu]], places, len(spec.arrondissements))
    for place in places:
        place.arrondissement = spec.arrondissements[_nearest_centre(place, centres)]
    for arm in plan.arrondissements_municipaux:
        arm.arrondissement = plan.places[spec.chef_lieu].arrondissement


def _assign_cantons(plan: _DepartementPlan) -> None:
    """Cantons by proximity; big towns get a pseudo-canton (…99, …98) as in the COG."""
    spec = plan.spec
    # Communes of the Métropole de Lyon-style collectivity have no canton.
    places = [p for p in plan.places.values() if p.ctcd != _METROPOLE_CTCD]
    chef = plan.places[spec.chef_lieu]
    first = chef if chef in places else max(places, key=lambda p: (p.population, p.code))
    centres = _spread_centres([first], places, spec.canton_count)
    for place in places:
        place.canton = f"{spec.code}{_nearest_centre(place, centres) + 1:02d}"
    big_towns = sorted((p for p in places if p.population >= 25_000), key=lambda p: (-p.population, p.code))
    for rank, place in enumerate(big_towns):
        place.canton = f"{spec.code}{99 - rank}"


def _assign_postal_codes(rng: random.Random, plan: _DepartementPlan) -> None:
    """One postal code per canton, own codes for the chef-lieu, towns and arrondissements."""
    spec = plan.spec
    prefix = spec.postal_prefix
    if len(prefix) == 2:
        pool = [f"{prefix}{n:03d}" for n in range(100, 1000, 10)]
        chef_code = f"{prefix}000"
    else:
        pool = [f"{prefix}{n:02d}" for n in range(10, 100)]
        chef_code = f"{prefix}00"
    places = list(plan.places.values())
    groups = sorted({p.canton or p.arrondissement for p in places})
    towns = [p for p in places if p.population >= 10_000 and p.code != spec.chef_lieu]
    drawn = rng.sample(pool, len(groups) + len(towns))
    by_group = dict(zip(groups, drawn))
    own_code = dict(zip((t.code for t in towns), drawn[len(groups):]))
    for place in places:
        if place.code == spec.chef_lieu:
            place.postal_codes = (chef_code,)
        elif place.code in own_code:
            place.postal_codes = (own_code[place.code],)
        else:
            place.postal_codes = (by_group[place.canton or place.arrondissement],)
    for number, arm in enumerate(plan.arrondissements_municipaux, start=1):
        arm.postal_codes = (f"{prefix}{number:03d}",)
    if plan.arrondissements_municipaux:
        plan.places[spec.chef_lieu].postal_codes = tuple(
            code for arm in plan.arrondissements_municipaux for code in arm.postal_codes
        )


def _assign_epcis(
    rng: random.Random, plan: _DepartementPlan, metropole: list[_Place], used_sirens: set[str]
) -> None:
    """EPCI around the chef-lieu, the biggest towns (CA, CU) and spread-out centres (CC)."""
    spec = plan.spec
    chef = plan.places[spec.chef_lieu]
    places = list(plan.places.values())
    fixed = [chef, *metropole] if spec.city_with_arrondissements else []
    free = [p for p in places if p not in fixed]

    # The first EPCI is the métropole (fixed members) or the one around the chef-lieu.
    centres: list[_Place] = [] if fixed else [chef]
    by_size = sorted(free, key=lambda p: (-p.population, p.code))
    for epci_type, _ in spec.epcis[1:]:
        if epci_type in ("CA", "CU"):
            centres.append(next(p for p in by_size if p not in centres))
        else:
            centres = _spread_centres(centres, free, len(centres) + 1)

    groups: list[list[_Place]] = [fixed] if fixed else []
    groups += [[] for _ in centres]
    offset = 1 if fixed else 0
    for place in free:
        groups[offset + _nearest_centre(place, centres)].append(place)

    departement_digits = {"2A": "20", "974": "97"}.get(spec.code, spec.code)
    for (epci_type, financing), members in zip(spec.epcis, groups):
        prefix = rng.choice(("2000", "24" + departement_digits))
        code = _new_siren(rng, prefix, used_sirens)
        for place in members:
            place.epci = code
        plan.epcis.append((code, _epci_name(epci_type, members), epci_type, financing))


def _epci_name(epci_type: str, members: list[_Place]) -> str:
    by_size = sorted(members, key=lambda p: (-p.population, p.code))
    first = ARTICLES[by_size[0].tncc] + by_size[0].name
    second = ARTICLES[by_size[1].tncc] + by_size[1].name if len(by_size) > 1 else first
    if epci_type == "MET69":
        return f"Métropole de {first}"
    if epci_type == "CA":
        return f"CA {first} Agglomération"
    if epci_type == "CU":
        return f"CU {first} {second}"
    return f"CC {first} - {second}"


def _rename_2025(rng: random.Random, plan: _DepartementPlan, special: set[str], used_names: set[str]) -> None:
    """A commune renamed on 2025-01-01 (INSEE movement 10)."""
    place = rng.choice(_free_places(plan, special))
    old_name, old_tncc = place.name, place.tncc
    place.name = f"{old_name}-les-Hauts"
    used_names.add(place.name)
    special.add(place.code)
    plan.movements.append(
        Movement(10, "2025-01-01", "COM", place.code, old_tncc, old_name,
                 "COM", place.code, place.tncc, place.name)
    )


def _add_former_corsica_codes(plan: _DepartementPlan) -> None:
    """Before 1976 Corsica was département 20: each commune keeps its 20xxx code as former code."""
    for place in plan.places.values():
        former = "20" + place.code[2:]
        place.former_codes.insert(0, former)
        plan.movements.append(
            Movement(41, "1976-01-01", "COM", former, place.tncc, place.name,
                     "COM", place.code, place.tncc, place.name)
        )


def _merge_2026(
    rng: random.Random, plan: _DepartementPlan, special: set[str], size: int,
    used_names: set[str], used_sirens: set[str],
) -> None:
    """Merge `size` neighbouring villages of one EPCI into a commune nouvelle on 2026-01-01."""
    villages = [p for p in _free_places(plan, special) if p.population < _VILLAGE_MAX]
    while True:
        seed_place = rng.choice(villages)
        same_epci = [p for p in villages if p.epci == seed_place.epci and p is not seed_place]
        if len(same_epci) >= size - 1:
            break
    group = [seed_place, *_nearest(seed_place, same_epci, size - 1)]
    chef = max(group, key=lambda p: (p.population, p.code))
    others = sorted((p for p in group if p is not chef), key=lambda p: p.code)
    if size == 2:
        name = f"{_core_word(chef.name)}-{_core_word(others[0].name)}"
        tncc = _tncc_without_article(name)
    else:
        name, tncc = f"Coteaux du {_draw_word(rng, plan.spec.style)}", 4
    used_names.add(name)
    special.update(p.code for p in group)

    date = "2026-01-01"
    predecessors = tuple(sorted(p.code for p in group))
    plan.mergers.append(Merger(date=date, code=chef.code, name=name, tncc=tncc, predecessors=predecessors))
    # A commune nouvelle is a new legal person, with a new SIREN.
    plan.merger_sirens[chef.code] = _new_siren(rng, "2000", used_sirens)
    for place in sorted(group, key=lambda p: p.code):
        plan.movements += [
            Movement(32, date, "COM", place.code, place.tncc, place.name, "COM", chef.code, tncc, name),
            Movement(32, date, "COM", place.code, place.tncc, place.name, "COMD", place.code,
                     place.tncc, place.name),
        ]


def _core_word(name: str) -> str:
    """The distinctive word of a name ("Saint-Brolay-sur-Vauge" → "Brolay")."""
    minor = {"Saint", "Sainte", "San", "Santa", "Bras", "Petite", "sur", "en", "lès", "les", "le",
             "la", "di", "Grand", "Haut", "Hauts", "Rivière"}
    words = name.replace(" ", "-").split("-")
    return next((w for w in words if w not in minor), words[0])


def _sorted_movements(movements: Iterable[Movement]) -> tuple[Movement, ...]:
    """Latest first, as INSEE publishes; rows of one event keep their order."""
    return tuple(sorted(movements, key=lambda m: m.date, reverse=True))


# --------------------------------------------------------------------------------------------
# From the plans to one geography vintage
# --------------------------------------------------------------------------------------------


def _geography(vintage: str, plans: list[_DepartementPlan]) -> Geography:
    communes: list[Commune] = []
    epcis: list[Epci] = []
    for plan in plans:
        spec = plan.spec
        mergers = [m for m in plan.mergers if m.vintage <= vintage]
        merged = {code for m in mergers for code in m.predecessors}
        for place in plan.places.values():
            if place.code not in merged:
                communes.append(_commune_actuelle(place, spec, vintage))
        for merger in mergers:
            communes += _commune_nouvelle(merger, plan, vintage)
        for attached in plan.attached:
            parent = plan.places[attached.parent]
            communes.append(_attached_entry(attached.code, attached.type, attached.name,
                                            attached.tncc, attached.lon, attached.lat,
                                            parent, spec))
        for arm in plan.arrondissements_municipaux:
            communes.append(_arrondissement_municipal(arm, spec, vintage))
        actuelles_epci = {c.code: c.epci for c in communes if c.type == COMMUNE_ACTUELLE}
        for code, nom, epci_type, financing in plan.epcis:
            members = tuple(sorted(c for c, e in actuelles_epci.items() if e == code))
            epcis.append(Epci(code=code, nom=nom, type=epci_type, financing=financing, members=members))
    communes.sort(key=lambda c: (c.code, _TYPE_ORDER[c.type]))
    epcis.sort(key=lambda e: e.code)
    return Geography(vintage=vintage, communes=tuple(communes), epcis=tuple(epcis))


def _commune_actuelle(place: _Place, spec: _DepartementSpec, vintage: str) -> Commune:
    return Commune(
        code=place.code, type=COMMUNE_ACTUELLE, name=place.name, tncc=place.tncc,
        departement=spec.code, region=spec.region, arrondissement=place.arrondissement,
        canton=place.canton, ctcd=place.ctcd, parent=None, epci=place.epci,
        population=place.population_in(vintage),
        population_totale=place.population_totale_in(vintage),
        lon=place.lon, lat=place.lat, density_level=place.density_level,
        postal_codes=place.postal_codes, siren=place.siren,
        former_codes=tuple(sorted(place.former_codes)),
    )


def _commune_nouvelle(merger: Merger, plan: _DepartementPlan, vintage: str) -> list[Commune]:
    """The commune nouvelle and one commune déléguée per former commune (its own code too)."""
    spec = plan.spec
    group = [plan.places[code] for code in merger.predecessors]
    chef = plan.places[merger.code]
    postal_codes = tuple(sorted({code for p in group for code in p.postal_codes}))
    former = sorted({*chef.former_codes, *(c for c in merger.predecessors if c != chef.code)})
    entries = [
        Commune(
            code=chef.code, type=COMMUNE_ACTUELLE, name=merger.name, tncc=merger.tncc,
            departement=spec.code, region=spec.region, arrondissement=chef.arrondissement,
            canton=chef.canton, ctcd=chef.ctcd, parent=None, epci=chef.epci,
            population=sum(p.population_in(vintage) for p in group),
            population_totale=sum(p.population_totale_in(vintage) for p in group),
            lon=chef.lon, lat=chef.lat, density_level=min(p.density_level for p in group),
            postal_codes=postal_codes, siren=plan.merger_sirens[chef.code],
            former_codes=tuple(former),
        )
    ]
    for place in group:
        entries.append(_attached_entry(place.code, COMMUNE_DELEGUEE, place.name, place.tncc,
                                       place.lon, place.lat, chef, spec,
                                       density_level=place.density_level))
    return entries


def _attached_entry(
    code: str, kind: str, name: str, tncc: int, lon: float, lat: float, parent: _Place,
    spec: _DepartementSpec, density_level: int | None = None,
) -> Commune:
    return Commune(
        code=code, type=kind, name=name, tncc=tncc, departement=spec.code, region=spec.region,
        arrondissement=parent.arrondissement, canton="", ctcd=parent.ctcd, parent=parent.code,
        epci=None, population=None, population_totale=None, lon=lon, lat=lat,
        density_level=density_level or parent.density_level, postal_codes=(), siren=None,
        former_codes=(),
    )


def _arrondissement_municipal(arm: _Place, spec: _DepartementSpec, vintage: str) -> Commune:
    return Commune(
        code=arm.code, type=ARRONDISSEMENT_MUNICIPAL, name=arm.name, tncc=arm.tncc,
        departement=spec.code, region=spec.region, arrondissement=arm.arrondissement, canton="",
        ctcd=arm.ctcd, parent=spec.chef_lieu, epci=None, population=arm.population_in(vintage),
        population_totale=arm.population_totale_in(vintage), lon=arm.lon, lat=arm.lat,
        density_level=arm.density_level, postal_codes=arm.postal_codes, siren=None, former_codes=(),
    )


# --------------------------------------------------------------------------------------------
# Writers: one function per source, each writing <dest>/<source>/<vintage>/<file name>
# --------------------------------------------------------------------------------------------


def _vintage_dir(dest: Path, source: str, vintage: str) -> Path:
    path = Path(dest) / source / vintage
    path.mkdir(parents=True, exist_ok=True)
    return path


def _json_lines_array(records: list[dict]) -> bytes:
    """A JSON array laid out like the Etalab files: one compact object per line."""
    lines = [json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in records]
    return ("[\n" + ",\n".join(lines) + "\n]\n").encode("utf-8")


def _csv_bytes(header: list[str], rows: Iterable[list]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def write_etalab_decoupage(territory: Territory, dest: Path) -> list[str]:
    """Write communes.json, epci.json, departements.json and regions.json for each vintage.

    The field names, their order and the layout follow the @etalab/decoupage-administratif
    package. Returns the vintages written.

    The catalogue labels the populations of both vintages census 2023 (population_year), as
    the real 5.3.0 and 6.0.0 carry the same populations légales; the sample keeps a year of
    growth between them (its 2025 numbers are its insee_population 2022) so that population
    changes can be tested.
    """
    zones = {d.code: d.zone for d in territory.departements}
    departements = [
        {"code": d.code, "region": d.region, "chefLieu": d.chef_lieu, "nom": d.nom,
         "typeLiaison": d.tncc, "zone": d.zone}
        for d in sorted(territory.departements, key=lambda d: d.code)
    ]
    regions = [
        {"code": r.code, "chefLieu": r.chef_lieu, "nom": r.nom, "typeLiaison": r.tncc, "zone": r.zone}
        for r in sorted(territory.regions, key=lambda r: r.code)
    ]
    for vintage in SAMPLE_GEOGRAPHY_VINTAGES:
        geography = territory.geography(vintage)
        folder = _vintage_dir(dest, "etalab_decoupage", vintage)
        communes = [_etalab_commune(c, zones[c.departement]) for c in geography.communes]
        (folder / "communes.json").write_bytes(_json_lines_array(communes))
        (folder / "epci.json").write_bytes(_json_lines_array(_etalab_epcis(geography)))
        (folder / "departements.json").write_bytes(_json_lines_array(departements))
        (folder / "regions.json").write_bytes(_json_lines_array(regions))
    return list(SAMPLE_GEOGRAPHY_VINTAGES)


def _etalab_commune(commune: Commune, zone: str) -> dict:
    head = {"code": commune.code, "nom": commune.libelle, "typeLiaison": commune.tncc, "zone": zone}
    place = {"arrondissement": commune.arrondissement, "departement": commune.departement,
             "region": commune.region}
    if commune.type == COMMUNE_ACTUELLE:
        record = {**head, **place, "type": commune.type, "rangChefLieu": 0}
        if commune.former_codes:
            record["anciensCodes"] = list(commune.former_codes)
        record.update(siren=commune.siren, codesPostaux=list(commune.postal_codes),
                      population=commune.population)
        return record
    if commune.type == ARRONDISSEMENT_MUNICIPAL:
        return {**head, "type": commune.type, "commune": commune.parent, **place,
                "codesPostaux": list(commune.postal_codes), "population": commune.population}
    return {**head, "type": commune.type, "chefLieu": commune.parent, **place}


def _etalab_epcis(geography: Geography) -> list[dict]:
    actuelles = {c.code: c for c in geography.actuelles}
    records = []
    for epci in geography.epcis:
        members = sorted((actuelles[code] for code in epci.members),
                         key=lambda c: (-c.population_totale, c.code))
        records.append({
            "code": epci.code,
            "nom": epci.nom,
            "type": epci.type,
            "modeFinancement": epci.financing,
            "populationTotale": sum(c.population_totale for c in members),
            "populationMunicipale": sum(c.population for c in members),
            "membres": [
                {"code": c.code, "siren": c.siren, "nom": c.libelle,
                 "populationTotale": c.population_totale, "populationMunicipale": c.population}
                for c in members
            ],
        })
    return records


_INSEE_TYPECOM = {
    COMMUNE_ACTUELLE: "COM",
    COMMUNE_DELEGUEE: "COMD",
    COMMUNE_ASSOCIEE: "COMA",
    ARRONDISSEMENT_MUNICIPAL: "ARM",
}
V_COMMUNE_HEADER = ["TYPECOM", "COM", "REG", "DEP", "CTCD", "ARR", "TNCC", "NCC", "NCCENR",
                    "LIBELLE", "CAN", "COMPARENT"]
V_MVT_COMMUNE_HEADER = ["MOD", "DATE_EFF", "TYPECOM_AV", "COM_AV", "TNCC_AV", "NCC_AV", "NCCENR_AV",
                        "LIBELLE_AV", "TYPECOM_AP", "COM_AP", "TNCC_AP", "NCC_AP", "NCCENR_AP",
                        "LIBELLE_AP"]


def write_insee_cog(territory: Territory, dest: Path) -> list[str]:
    """Write v_commune_<year>.csv and v_mvt_commune_<year>.csv for each vintage.

    The movements file holds every movement of the sample territory up to 1 January of the
    year, latest first, as INSEE publishes it. Returns the vintages written.
    """
    for vintage in SAMPLE_GEOGRAPHY_VINTAGES:
        folder = _vintage_dir(dest, "insee_cog", vintage)
        rows = [_v_commune_row(c) for c in territory.geography(vintage).communes]
        (folder / f"v_commune_{vintage}.csv").write_bytes(_csv_bytes(V_COMMUNE_HEADER, rows))
        movements = [m for m in territory.movements if m.date <= f"{vintage}-01-01"]
        mvt_rows = [_v_mvt_commune_row(m) for m in movements]
        (folder / f"v_mvt_commune_{vintage}.csv").write_bytes(_csv_bytes(V_MVT_COMMUNE_HEADER, mvt_rows))
    return list(SAMPLE_GEOGRAPHY_VINTAGES)


def _v_commune_row(commune: Commune) -> list:
    typecom = _INSEE_TYPECOM[commune.type]
    names = [commune.tncc, commune.ncc, commune.name, commune.libelle]
    if typecom == "COM":
        return [typecom, commune.code, commune.region, commune.departement, commune.ctcd,
                commune.arrondissement, *names, commune.canton, ""]
    if typecom == "ARM":
        return [typecom, commune.code, commune.region, commune.departement, commune.ctcd,
                commune.arrondissement, *names, "", commune.parent]
    # Communes déléguées and associées carry no administrative attachment of their own.
    return [typecom, commune.code, "", "", "", "", *names, "", commune.parent]


def _v_mvt_commune_row(m: Movement) -> list:
    return [
        m.mod, m.date,
        m.typecom_before, m.code_before, m.tncc_before, normalized_name(m.name_before),
        m.name_before, ARTICLES[m.tncc_before] + m.name_before,
        m.typecom_after, m.code_after, m.tncc_after, normalized_name(m.name_after),
        m.name_after, ARTICLES[m.tncc_after] + m.name_after,
    ]


# Source id → writer. Later sources (census by age, BPE, APL, density grid, GTFS…) add theirs.
GEOGRAPHY_WRITERS: dict[str, Callable[[Territory, Path], list[str]]] = {
    "etalab_decoupage": write_etalab_decoupage,
    "insee_cog": write_insee_cog,
}
