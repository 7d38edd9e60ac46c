"""Sample of insee_sirene: the November 2026 establishments stock of the sample territory.

One Parquet file in data.gouv.fr's layout (StockEtablissement_utf8.parquet: the 54 columns of
INSEE's CSV, in order, dates as DATE, the processing time as TIMESTAMP, etablissementSiege as
BOOLEAN, two BIGINT counts, the rest VARCHAR), a few thousand establishments of every kind,
open and closed, in every commune and in the nine arrondissements of 69123 (never under 69123
itself, as in Sirene).

The story the tests check (see :func:`story`):

* towns have several cafés (56.30Z), restaurants (56.10A, 56.10C), shops of every kind
  (division 47: groceries, tobacconists, butchers, florists…), hairdressers (96.02A) and
  beauty salons (96.02B); villages have at most one or two cafés, and many have none;
* closed establishments stay in the stock with their closing day (dateDebut, state F); the
  programmes look at the last three years, from 2023-11-01 (the first day of the stock's month,
  three years back), and the reader keeps five years of closures, from 2021-11-01;
* cafés of Saône-et-Loire's villages:
  - in one village the only café closed on 31 March 2026: the village lost its last café;
  - in another the café that is left had a neighbour, closed on 31 January 2025;
  - in a third the only café has been open for years and no café ever closed there;
  - another village never had a café nor a restaurant;
* shops of two small towns (under 10,000 inhabitants) of Saône-et-Loire and of the Var, the
  largest two of each (``declining_towns`` the first, ``growing_towns`` the second): over the
  last three years, in each declining town five shops (and a hairdresser) closed and one shop
  opened, in each growing town one shop closed and four opened (and a beauty salon); the
  declining towns also lost a bakery in March 2022 (within the five years the reader keeps, not
  the programmes' three) and a clothes shop in June 2019 (not kept at all);
* the only café of a Corsican village is run by a person in partial diffusion
  (statutDiffusionEtablissement P): commune kept, address, coordinates and names "[ND]";
* a brewery of 69381 runs a bar in Brussels: no commune code, a foreign country code;
* a fast-food chain has its head office (70.10Z) in the largest town and restaurants in the next four;
* old closed establishments still carry NAF rév. 1 codes (55.4A for a bar);
* the active establishments also carry their NAF 2025 code (activitePrincipaleNAF25Etablissement,
  in the stocks since December 2025: the sample's only month, 2026-11, has it); in the largest
  town of Saône-et-Loire one of the cafés is a bar-billard registered under 93.29Z (autres
  activités récréatives et de loisirs) in NAF rév. 2 that INSEE classes 56.30Y (débits de
  boissons) in NAF 2025: only its NAF 2025 code makes it a café, and the town keeps the number
  of cafés it would have had without it;
* coordinates are Lambert-93 in metropolitan France and UTM 40S (EPSG:2975) in La Réunion.

:func:`write_stock_zip` writes the same rows as INSEE's zipped CSV, for the tests of that layout;
:func:`before_naf2025` gives the rows as a stock before December 2025 (no NAF 2025 column) and
:func:`naf2025_reference` as a stock from 2027, when NAF 2025 is the reference nomenclature.
"""

from __future__ import annotations

import io
import math
import random
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.sample.territory import ARRONDISSEMENT_MUNICIPAL, Commune, Territory

SOURCE = "insee_sirene"
VINTAGE = "2026-11"
GEOGRAPHY_VINTAGE = "2026"
FILE_NAME = "StockEtablissement_utf8.parquet"
CSV_NAME = "StockEtablissement_utf8.csv"
# The November stock holds what INSEE processed up to the end of October.
STOCK_END = date(2026, 10, 31)
VILLAGE = 1_000  # inhabitants: below, a village has at most two cafés

CAFE, RESTAURANT, FAST_FOOD, GROCERY, TOBACCO = "56.30Z", "56.10A", "56.10C", "47.11B", "47.26Z"
HAIRDRESSER, BEAUTY_SALON = "96.02A", "96.02B"
# The programmes' three years: from the first day of the stock's month, three years back.
RECENT_SINCE = date(2023, 11, 1)
SMALL_TOWN = 10_000  # inhabitants: the story's shops are in towns under this size
# Shops besides groceries and tobacconists: boucherie, boulangerie, presse, habillement,
# pharmacie, fleurs, optique, quincaillerie (division 47, commerce de détail).
RETAIL_SHOPS = ("47.22Z", "47.24Z", "47.62Z", "47.71Z", "47.73Z", "47.76Z", "47.78A", "47.52A")
LEISURE = "93.29Z"  # autres activités récréatives et de loisirs (the bar-billard's NAF rév. 2 code)
NAF25 = "activitePrincipaleNAF25Etablissement"
NAF2025_NOMENCLATURE = "NAF2025"  # assumed value of nomenclatureActivitePrincipaleEtablissement from 2027
HEAD_OFFICE = "70.10Z"
OLD_BAR = "55.4A"  # débits de boissons in NAF rév. 1, before 2008
OTHER_ACTIVITIES = (
    "43.21A", "43.22A", "45.20A", "47.73Z", "62.01Z", "68.20A", "69.20Z", "81.21Z",
    "86.21Z", "86.23Z", "96.02A", "01.11Z", "41.20A", "49.32Z", "85.59A", "94.99Z",
)  # fmt: skip
HIDDEN = "[ND]"  # what Sirene shows in place of a field a person asked to hide

# Official column order and the types of data.gouv.fr's Parquet conversion.
COLUMNS: tuple[tuple[str, pa.DataType], ...] = (
    ("siren", pa.string()),
    ("nic", pa.string()),
    ("siret", pa.string()),
    ("statutDiffusionEtablissement", pa.string()),
    ("dateCreationEtablissement", pa.date32()),
    ("trancheEffectifsEtablissement", pa.string()),
    ("anneeEffectifsEtablissement", pa.int64()),
    ("activitePrincipaleRegistreMetiersEtablissement", pa.string()),
    ("dateDernierTraitementEtablissement", pa.timestamp("us")),
    ("etablissementSiege", pa.bool_()),
    ("nombrePeriodesEtablissement", pa.int64()),
    ("complementAdresseEtablissement", pa.string()),
    ("numeroVoieEtablissement", pa.string()),
    ("indiceRepetitionEtablissement", pa.string()),
    ("dernierNumeroVoieEtablissement", pa.string()),
    ("indiceRepetitionDernierNumeroVoieEtablissement", pa.string()),
    ("typeVoieEtablissement", pa.string()),
    ("libelleVoieEtablissement", pa.string()),
    ("codePostalEtablissement", pa.string()),
    ("libelleCommuneEtablissement", pa.string()),
    ("libelleCommuneEtrangerEtablissement", pa.string()),
    ("distributionSpecialeEtablissement", pa.string()),
    ("codeCommuneEtablissement", pa.string()),
    ("codeCedexEtablissement", pa.string()),
    ("libelleCedexEtablissement", pa.string()),
    ("codePaysEtrangerEtablissement", pa.string()),
    ("libellePaysEtrangerEtablissement", pa.string()),
    ("identifiantAdresseEtablissement", pa.string()),
    ("coordonneeLambertAbscisseEtablissement", pa.string()),
    ("coordonneeLambertOrdonneeEtablissement", pa.string()),
    ("complementAdresse2Etablissement", pa.string()),
    ("numeroVoie2Etablissement", pa.string()),
    ("indiceRepetition2Etablissement", pa.string()),
    ("typeVoie2Etablissement", pa.string()),
    ("libelleVoie2Etablissement", pa.string()),
    ("codePostal2Etablissement", pa.string()),
    ("libelleCommune2Etablissement", pa.string()),
    ("libelleCommuneEtranger2Etablissement", pa.string()),
    ("distributionSpeciale2Etablissement", pa.string()),
    ("codeCommune2Etablissement", pa.string()),
    ("codeCedex2Etablissement", pa.string()),
    ("libelleCedex2Etablissement", pa.string()),
    ("codePaysEtranger2Etablissement", pa.string()),
    ("libellePaysEtranger2Etablissement", pa.string()),
    ("dateDebut", pa.date32()),
    ("etatAdministratifEtablissement", pa.string()),
    ("enseigne1Etablissement", pa.string()),
    ("enseigne2Etablissement", pa.string()),
    ("enseigne3Etablissement", pa.string()),
    ("denominationUsuelleEtablissement", pa.string()),
    ("activitePrincipaleEtablissement", pa.string()),
    ("nomenclatureActivitePrincipaleEtablissement", pa.string()),
    ("caractereEmployeurEtablissement", pa.string()),
    ("activitePrincipaleNAF25Etablissement", pa.string()),
)
SCHEMA = pa.schema([pa.field(name, dtype) for name, dtype in COLUMNS])

# Fields a person in partial diffusion hides (the commune stays public).
HIDDEN_FIELDS = (
    "complementAdresseEtablissement", "numeroVoieEtablissement", "indiceRepetitionEtablissement",
    "typeVoieEtablissement", "libelleVoieEtablissement", "identifiantAdresseEtablissement",
    "coordonneeLambertAbscisseEtablissement", "coordonneeLambertOrdonneeEtablissement",
    "enseigne1Etablissement", "denominationUsuelleEtablissement",
)  # fmt: skip

# activitePrincipaleNAF25Etablissement (in the stock since December 2025) of the codes the catalogue
# names: 56.30Y, 56.11J, 47.11G and 96.21G are seen in the real stock or INSEE's coding rules,
# 56.11G, 47.26Y and 96.22Y are assumed (see the catalogue). The sample's other activities, the
# other shops among them, have none.
NAF_2025 = {
    CAFE: "56.30Y", RESTAURANT: "56.11G", FAST_FOOD: "56.11J", GROCERY: "47.11G", TOBACCO: "47.26Y",
    HAIRDRESSER: "96.21G", BEAUTY_SALON: "96.22Y",
}  # fmt: skip

# Shops and salons of the story towns: (NAF code, opened on, closed on or None when still open).
DECLINING_SHOPS = (
    # in the last three years: five shops and a hairdresser closed, one shop (an optician) opened
    ("47.71Z", date(1996, 4, 2), date(2024, 1, 31)),
    ("47.76Z", date(2004, 9, 15), date(2024, 6, 29)),
    ("47.62Z", date(1989, 3, 1), date(2025, 2, 28)),
    ("47.22Z", date(2001, 10, 8), date(2025, 9, 30)),
    ("47.52A", date(1978, 6, 12), date(2026, 6, 30)),
    (HAIRDRESSER, date(2010, 5, 3), date(2025, 12, 31)),
    ("47.78A", date(2024, 10, 1), None),
    # before: a bakery closed within the five years the reader keeps, a clothes shop before them
    ("47.24Z", date(1992, 1, 6), date(2022, 3, 31)),
    ("47.71Z", date(1999, 2, 1), date(2019, 6, 30)),
    # the shops that stay, opened long ago
    (GROCERY, date(1985, 7, 1), None), (TOBACCO, date(1990, 1, 15), None), ("47.73Z", date(1974, 9, 1), None),
    ("47.24Z", date(2008, 3, 1), None), (HAIRDRESSER, date(2012, 9, 1), None),
)  # fmt: skip
GROWING_SHOPS = (
    # in the last three years: one shop closed, four shops and a beauty salon opened
    ("47.62Z", date(1994, 2, 1), date(2024, 8, 31)),
    ("47.71Z", date(2024, 3, 4), None),
    ("47.76Z", date(2024, 11, 20), None),
    ("47.24Z", date(2025, 6, 2), None),
    ("47.78A", date(2026, 2, 16), None),
    (BEAUTY_SALON, date(2025, 4, 1), None),
    # before: a butcher opened in 2022
    ("47.22Z", date(2022, 5, 2), None),
    # the shops that stay, opened long ago
    (GROCERY, date(1983, 5, 2), None), (TOBACCO, date(1997, 11, 3), None), ("47.73Z", date(1981, 2, 1), None),
    (HAIRDRESSER, date(2005, 6, 13), None),
)  # fmt: skip

_CAFE_NAMES = ("CAFE DU COMMERCE", "BAR DE LA PLACE", "LE CENTRAL", "CAFE DE LA MAIRIE", "LE BALTO", "BAR DES SPORTS")
_RESTAURANT_NAMES = ("AUBERGE DU VILLAGE", "LA TABLE DU MARCHE", "LE RELAIS", "CHEZ MARIE", "LA BONNE ETAPE")
_STREETS = ("DE LA MAIRIE", "DU COMMERCE", "DE L EGLISE", "PRINCIPALE", "DE LA GARE", "DES ECOLES", "DU STADE")
_STREET_TYPES = ("RUE", "RUE", "PL", "AV", "RTE", "CHE", "GR")
_HEADCOUNT_BANDS = ("NN", "NN", "00", "01", "02", "03", "11", "12")


@dataclass(frozen=True)
class Story:
    """The codes the tests look for in the sample stock."""

    lost_cafe_commune: str  # a village whose only café closed in 2026
    lost_cafe_siret: str
    last_cafe_commune: str  # a village with one café left, the other closed in January 2025
    last_cafe_closed_siret: str
    steady_cafe_commune: str  # a village with one café and no café ever closed
    no_cafe_commune: str  # a village that never had a café nor a restaurant
    partial_cafe_commune: str  # a village whose only café is in partial diffusion
    partial_cafe_siret: str
    abroad_siret: str  # a bar in Brussels run by a company of 69381
    chain_siren: str  # a fast-food chain with establishments in several towns
    naf25_cafe_commune: str  # a town one of whose cafés is a café in NAF 2025 only
    naf25_cafe_siret: str
    declining_towns: tuple[str, str]  # small towns of 71 and 83: more shops closed than opened in three years
    growing_towns: tuple[str, str]  # small towns of 71 and 83: more shops opened than closed


def story(territory: Territory) -> Story:
    """Which communes and establishments carry the sample's story."""
    villages = _villages(territory)
    lost, never, partial = villages["71"][0], villages["71"][1], villages["2A"][0]
    # villages whose drawn establishments hold exactly one open café: their café count stays
    last, steady = [v for v in villages["71"][2:] if _drawn(territory, v).count((CAFE, "A")) == 1][:2]
    towns = _towns(territory)
    small = {d: [t for t in towns[d] if (t.population or 0) < SMALL_TOWN] for d in ("71", "83")}
    return Story(
        lost_cafe_commune=lost.code,
        lost_cafe_siret=_siret(_siren(f"{territory.seed}-lost-cafe"), 1),
        last_cafe_commune=last.code,
        last_cafe_closed_siret=_siret(_siren(f"{territory.seed}-closed-cafe"), 1),
        steady_cafe_commune=steady.code,
        no_cafe_commune=never.code,
        partial_cafe_commune=partial.code,
        partial_cafe_siret=_siret(_siren(f"{territory.seed}-partial-cafe"), 1),
        abroad_siret=_siret(_siren(f"{territory.seed}-brewery"), 2),
        chain_siren=_siren(f"{territory.seed}-chain"),
        naf25_cafe_commune=towns["71"][0].code,
        naf25_cafe_siret=_siret(_siren(f"{territory.seed}-naf25-cafe"), 1),
        declining_towns=(small["71"][0].code, small["83"][0].code),
        growing_towns=(small["71"][1].code, small["83"][1].code),
    )


def write(territory: Territory, dest: Path) -> list[str]:
    """Write StockEtablissement_utf8.parquet of the November 2026 stock."""
    folder = Path(dest) / SOURCE / VINTAGE
    folder.mkdir(parents=True, exist_ok=True)
    write_parquet(establishments(territory), folder / FILE_NAME)
    return [VINTAGE]


def establishments(territory: Territory) -> pl.DataFrame:
    """Every establishment of the sample stock, in the official columns and types, sorted by SIRET."""
    geography = territory.geography(GEOGRAPHY_VINTAGE)
    places = [c for c in geography.actuelles if not _has_arrondissements(c, geography.communes)]
    places += [c for c in geography.communes if c.type == ARRONDISSEMENT_MUNICIPAL]
    tale = story(territory)
    rows: list[dict] = []
    for index, place in enumerate(sorted(places, key=lambda c: c.code)):
        rng = random.Random(f"{territory.seed}-{SOURCE}-{place.code}")
        activities = _activities(rng, place) + _shops(territory, place)
        if place.code == tale.lost_cafe_commune:
            activities = [(a, s) for a, s in activities if a not in (CAFE, OLD_BAR)]
            rows.append(_lost_cafe(rng, place, tale))
        elif place.code == tale.last_cafe_commune:
            activities = [(a, s) for a, s in activities if (a, s) not in ((CAFE, "F"), (OLD_BAR, "F"))]
            rows.append(_closed_cafe(rng, place, tale))
        elif place.code == tale.steady_cafe_commune:
            activities = [(a, s) for a, s in activities if (a, s) not in ((CAFE, "F"), (OLD_BAR, "F"))]
        elif place.code in tale.declining_towns + tale.growing_towns:
            activities = [(a, s) for a, s in activities if not _is_shop_or_salon(a)]
            shops = DECLINING_SHOPS if place.code in tale.declining_towns else GROWING_SHOPS
            rows += [
                _story_shop(rng, place, code, _numbered_siren(index, len(activities) + number), opened, closed)
                for number, (code, opened, closed) in enumerate(shops)
            ]
        elif place.code == tale.no_cafe_commune:
            activities = [(a, s) for a, s in activities if not a.startswith(("56.", "55."))]
        elif place.code == tale.partial_cafe_commune:
            activities = [(a, s) for a, s in activities if a not in (CAFE, OLD_BAR)]
            rows.append(_partial_cafe(rng, place, tale))
        elif place.code == tale.naf25_cafe_commune:
            # one of the town's open cafés is the bar-billard: as many cafés as without it
            activities.remove((CAFE, "A"))
            rows.append(_naf25_cafe(rng, place, tale))
        rows += [
            _establishment(rng, place, activity, state, siren=_numbered_siren(index, number))
            for number, (activity, state) in enumerate(activities)
        ]
    rows += _brewery(territory, geography.commune("69381"), tale)
    rows += _chain(territory, sorted(places, key=lambda c: (-(c.population or 0), c.code))[:5], tale)
    columns = {name: [row.get(name) for row in rows] for name, _ in COLUMNS}
    return pl.from_arrow(pa.Table.from_pydict(columns, schema=SCHEMA)).sort("siret")


def write_parquet(frame: pl.DataFrame, path: Path) -> None:
    """Write establishments as data.gouv.fr's Parquet, with the same bytes on every call.

    The frame may lack columns of the official layout (a stock before December 2025 has no
    activitePrincipaleNAF25Etablissement); the others keep their order and types.
    """
    table = frame.to_arrow().cast(pa.schema([field for field in SCHEMA if field.name in frame.columns]))
    pq.write_table(table, path, compression="snappy", row_group_size=100_000, store_schema=False)


def write_stock_zip(frame: pl.DataFrame, path: Path, *, encoding: str = "utf-8") -> None:
    """Write establishments as INSEE's StockEtablissement_utf8.zip (one comma-separated CSV)."""
    text = frame.write_csv(datetime_format="%Y-%m-%dT%H:%M:%S", date_format="%Y-%m-%d", line_terminator="\n")
    entry = zipfile.ZipInfo(CSV_NAME, date_time=(2026, 11, 1, 0, 0, 0))
    entry.compress_type = zipfile.ZIP_DEFLATED
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(entry, text.encode(encoding))
    Path(path).write_bytes(buffer.getvalue())


def before_naf2025(frame: pl.DataFrame) -> pl.DataFrame:
    """The rows as a stock before December 2025 would hold them: no NAF 2025 column."""
    return frame.drop(NAF25)


def naf2025_reference(frame: pl.DataFrame) -> pl.DataFrame:
    """The rows as a stock from January 2027 might hold them, NAF 2025 being the reference.

    An establishment with a NAF 2025 code has it as its main activity, under the nomenclature
    NAF2025 (the value INSEE will use is assumed); the others keep their older code. The
    NAF 2025 column stays, as it may or may not.
    """
    has_naf25 = pl.col(NAF25).is_not_null()
    return frame.with_columns(
        pl.when(has_naf25).then(pl.col(NAF25)).otherwise(pl.col("activitePrincipaleEtablissement"))
        .alias("activitePrincipaleEtablissement"),
        pl.when(has_naf25).then(pl.lit(NAF2025_NOMENCLATURE))
        .otherwise(pl.col("nomenclatureActivitePrincipaleEtablissement"))
        .alias("nomenclatureActivitePrincipaleEtablissement"),
    )  # fmt: skip


# --------------------------------------------------------------------------------------------
# What each commune has
# --------------------------------------------------------------------------------------------


def _villages(territory: Territory) -> dict[str, list[Commune]]:
    villages: dict[str, list[Commune]] = {}
    for commune in territory.geography(GEOGRAPHY_VINTAGE).actuelles:
        if (commune.population or 0) < VILLAGE:
            villages.setdefault(commune.departement, []).append(commune)
    return villages


def _towns(territory: Territory) -> dict[str, list[Commune]]:
    """Communes of at least VILLAGE inhabitants by département, the largest first."""
    geography = territory.geography(GEOGRAPHY_VINTAGE)
    towns: dict[str, list[Commune]] = {}
    for commune in sorted(geography.actuelles, key=lambda c: (-(c.population or 0), c.code)):
        if (commune.population or 0) >= VILLAGE and not _has_arrondissements(commune, geography.communes):
            towns.setdefault(commune.departement, []).append(commune)
    return towns


def _has_arrondissements(commune: Commune, communes) -> bool:
    return any(c.type == ARRONDISSEMENT_MUNICIPAL and c.parent == commune.code for c in communes)


def _drawn(territory: Territory, place: Commune) -> list[tuple[str, str]]:
    """The (NAF code, state) a commune's establishments are drawn with, before the story changes them."""
    return _activities(random.Random(f"{territory.seed}-{SOURCE}-{place.code}"), place)


def _is_shop_or_salon(activity: str) -> bool:
    return activity.startswith("47.") or activity in (HAIRDRESSER, BEAUTY_SALON)


def _activities(rng: random.Random, place: Commune) -> list[tuple[str, str]]:
    """(NAF code, state A/F) of every establishment of a commune, drawn from its population."""
    population = place.population or 0
    if population < VILLAGE:
        cafes = rng.choices((0, 1, 2), weights=(45, 45, 10))[0]
        restaurants = int(rng.random() < 0.3)
        fast_food = 0
        shops = {GROCERY: int(rng.random() < 0.3), TOBACCO: int(rng.random() < 0.2)}
    else:
        cafes = 1 + population // 3_000
        restaurants = 1 + population // 2_000
        fast_food = population // 4_000
        shops = {GROCERY: 1 + population // 5_000, TOBACCO: 1 + population // 8_000}
    plan = [(CAFE, "A")] * cafes + [(RESTAURANT, "A")] * restaurants + [(FAST_FOOD, "A")] * fast_food
    for activity, count in shops.items():
        plan += [(activity, "A")] * count
    # Closed ones stay in the stock forever: some cafés and restaurants, many others.
    plan += [(CAFE, "F")] * rng.randint(0, 1 + cafes // 3) + [(RESTAURANT, "F")] * rng.randint(0, 1 + restaurants // 3)
    others = max(2, round(population / 400 * rng.uniform(0.8, 1.2)))
    plan += [(rng.choice(OTHER_ACTIVITIES), "F" if rng.random() < 0.3 else "A") for _ in range(others)]
    if rng.random() < 0.15:
        plan.append((OLD_BAR, "F"))
    return plan


def _shops(territory: Territory, place: Commune) -> list[tuple[str, str]]:
    """(NAF code, state A/F) of a commune's other shops and its salons, a third of them closed.

    Drawn with a generator of their own and placed after the commune's other establishments,
    which stay as they would be without them.
    """
    rng = random.Random(f"{territory.seed}-{SOURCE}-{place.code}-shops")
    population = place.population or 0
    if population < VILLAGE:
        shops, salons = rng.choices((0, 1, 2), weights=(60, 30, 10))[0], int(rng.random() < 0.3)
    else:
        shops = round(population / 400 * rng.uniform(0.8, 1.2))
        salons = round(population / 1_500 * rng.uniform(0.8, 1.2))
    plan = [rng.choice(RETAIL_SHOPS) for _ in range(shops)]
    plan += [rng.choice((HAIRDRESSER, HAIRDRESSER, BEAUTY_SALON)) for _ in range(salons)]
    return [(activity, "F" if rng.random() < 0.35 else "A") for activity in plan]


def _establishment(rng: random.Random, place: Commune, activity: str, state: str, siren: str, **fields) -> dict:
    """One establishment of a one-establishment company (its head office), with everything drawn."""
    old = activity == OLD_BAR
    if state == "F":
        # Closures spread evenly over the years since 1976 (a bar still in NAF rév. 1 closed before
        # 2008), each after a life of at least a year, eight on average.
        since = _day(rng, date(1976, 1, 1), date(2007, 12, 31) if old else STOCK_END - timedelta(days=1))
        created = max(date(1950, 1, 1), since - timedelta(days=365 + round(rng.expovariate(1 / 2_900))))
    else:
        created = _day(rng, date(1975, 1, 1), STOCK_END - timedelta(days=30))
        since = created if rng.random() < 0.6 else _day(rng, created, STOCK_END - timedelta(days=1))
    processed = _processed(rng, since)
    band = rng.choice(_HEADCOUNT_BANDS)
    x, y = _projected(place, rng)
    row = {
        "siren": siren,
        "nic": _siret(siren, 1)[9:],
        "siret": _siret(siren, 1),
        "statutDiffusionEtablissement": "O",
        "dateCreationEtablissement": created,
        "trancheEffectifsEtablissement": band,
        "anneeEffectifsEtablissement": 2023 if band != "NN" else None,
        "dateDernierTraitementEtablissement": processed,
        "etablissementSiege": True,
        "nombrePeriodesEtablissement": 1 + (since != created) + (state == "F"),
        "numeroVoieEtablissement": str(rng.randint(1, 120)),
        "typeVoieEtablissement": rng.choice(_STREET_TYPES),
        "libelleVoieEtablissement": rng.choice(_STREETS),
        "codePostalEtablissement": place.postal_codes[0],
        "libelleCommuneEtablissement": _commune_label(place),
        "codeCommuneEtablissement": place.code,
        "identifiantAdresseEtablissement": f"{place.code}_{rng.randint(1, 9999):04d}_{rng.randint(1, 120):05d}",
        "coordonneeLambertAbscisseEtablissement": x,
        "coordonneeLambertOrdonneeEtablissement": y,
        "dateDebut": since,
        "etatAdministratifEtablissement": state,
        "enseigne1Etablissement": _sign(rng, activity),
        "activitePrincipaleEtablissement": activity,
        "nomenclatureActivitePrincipaleEtablissement": "NAFRev1" if old else "NAFRev2",
        "caractereEmployeurEtablissement": "O" if band not in ("NN", "00") else "N",
        "activitePrincipaleNAF25Etablissement": None if old or state == "F" else NAF_2025.get(activity),
    }
    if rng.random() < 0.05:  # not every establishment is geolocated
        row["coordonneeLambertAbscisseEtablissement"] = row["coordonneeLambertOrdonneeEtablissement"] = None
    if row["enseigne1Etablissement"] is None and rng.random() < 0.2:
        row["denominationUsuelleEtablissement"] = f"{_commune_label(place)} SERVICES"
    return row | fields


def _lost_cafe(rng: random.Random, place: Commune, tale: Story) -> dict:
    """The village's only café, open since 1987, closed on 31 March 2026."""
    return _establishment(
        rng, place, CAFE, "F", tale.lost_cafe_siret[:9],
        nic=tale.lost_cafe_siret[9:], siret=tale.lost_cafe_siret,
        dateCreationEtablissement=date(1987, 5, 4), dateDebut=date(2026, 3, 31),
        dateDernierTraitementEtablissement=datetime(2026, 4, 2, 9, 12, 40),
        nombrePeriodesEtablissement=2, enseigne1Etablissement="CAFE DU COMMERCE",
        activitePrincipaleNAF25Etablissement=None,
    )  # fmt: skip


def _closed_cafe(rng: random.Random, place: Commune, tale: Story) -> dict:
    """The café beside the one left in the village, open since 1998, closed on 31 January 2025."""
    return _establishment(
        rng, place, CAFE, "F", tale.last_cafe_closed_siret[:9],
        nic=tale.last_cafe_closed_siret[9:], siret=tale.last_cafe_closed_siret,
        dateCreationEtablissement=date(1998, 6, 2), dateDebut=date(2025, 1, 31),
        dateDernierTraitementEtablissement=datetime(2025, 2, 6, 14, 31, 7),
        nombrePeriodesEtablissement=2, enseigne1Etablissement="LE BALTO",
    )  # fmt: skip


def _story_shop(
    rng: random.Random, place: Commune, activity: str, siren: str, opened: date, closed: date | None
) -> dict:
    """A shop or salon of the story towns, open since `opened`, closed on `closed` unless None."""
    changed = closed or opened
    processed = changed + timedelta(days=rng.randint(1, 20))
    return _establishment(
        rng, place, activity, "A" if closed is None else "F", siren,
        dateCreationEtablissement=opened, dateDebut=changed,
        dateDernierTraitementEtablissement=datetime(processed.year, processed.month, processed.day, rng.randint(8, 18)),
        nombrePeriodesEtablissement=1 if closed is None else 2,
    )  # fmt: skip


def _partial_cafe(rng: random.Random, place: Commune, tale: Story) -> dict:
    """A café run by a person who asked for partial diffusion: only its commune is shown."""
    row = _establishment(
        rng, place, CAFE, "A", tale.partial_cafe_siret[:9],
        nic=tale.partial_cafe_siret[9:], siret=tale.partial_cafe_siret,
        statutDiffusionEtablissement="P", dateCreationEtablissement=date(2019, 6, 1), dateDebut=date(2019, 6, 1),
        dateDernierTraitementEtablissement=datetime(2026, 10, 14, 16, 2, 9),
    )  # fmt: skip
    return row | {field: HIDDEN for field in HIDDEN_FIELDS}


def _naf25_cafe(rng: random.Random, place: Commune, tale: Story) -> dict:
    """A bar-billard registered under 93.29Z in NAF rév. 2, a débit de boissons (56.30Y) in NAF 2025."""
    return _establishment(
        rng, place, LEISURE, "A", tale.naf25_cafe_siret[:9],
        nic=tale.naf25_cafe_siret[9:], siret=tale.naf25_cafe_siret,
        dateCreationEtablissement=date(2009, 9, 1), dateDebut=date(2009, 9, 1),
        enseigne1Etablissement="LE BILLARD CLUB", activitePrincipaleNAF25Etablissement=NAF_2025[CAFE],
    )  # fmt: skip


def _brewery(territory: Territory, lyon_1: Commune, tale: Story) -> list[dict]:
    """A brewery of 69381 and the bar it runs in Brussels (no French commune)."""
    rng = random.Random(f"{territory.seed}-{SOURCE}-brewery")
    siren = tale.abroad_siret[:9]
    office = _establishment(rng, lyon_1, "11.05Z", "A", siren, enseigne1Etablissement="BRASSERIE DES PENTES")
    office |= {"nic": _siret(siren, 1)[9:], "siret": _siret(siren, 1)}
    bar = _establishment(
        rng, lyon_1, CAFE, "A", siren,
        nic=tale.abroad_siret[9:], siret=tale.abroad_siret, etablissementSiege=False,
        enseigne1Etablissement="LES PENTES A BRUXELLES", codePostalEtablissement=None,
        libelleCommuneEtablissement=None, codeCommuneEtablissement=None, identifiantAdresseEtablissement=None,
        libelleCommuneEtrangerEtablissement="BRUXELLES", codePaysEtrangerEtablissement="99131",
        libellePaysEtrangerEtablissement="BELGIQUE", libelleVoieEtablissement="DU MARCHE AUX HERBES",
        coordonneeLambertAbscisseEtablissement=None, coordonneeLambertOrdonneeEtablissement=None,
    )  # fmt: skip
    return [office, bar]


def _chain(territory: Territory, towns: list[Commune], tale: Story) -> list[dict]:
    """A fast-food chain: head office in the largest place, a restaurant in each of the others."""
    rng = random.Random(f"{territory.seed}-{SOURCE}-chain")
    siren = tale.chain_siren
    rows = [_establishment(rng, towns[0], HEAD_OFFICE, "A", siren, enseigne1Etablissement=None)]
    for town in towns[1:]:
        sign = {"etablissementSiege": False, "enseigne1Etablissement": "BURGER EXPRESS"}
        rows.append(_establishment(rng, town, FAST_FOOD, "A", siren, **sign))
    for number, row in enumerate(rows, start=1):
        row |= {"nic": _siret(siren, number)[9:], "siret": _siret(siren, number)}
    return rows


def _sign(rng: random.Random, activity: str) -> str | None:
    if activity in (CAFE, OLD_BAR):
        return rng.choice(_CAFE_NAMES)
    if activity in (RESTAURANT, FAST_FOOD):
        return rng.choice(_RESTAURANT_NAMES) if rng.random() < 0.8 else None
    return None


def _commune_label(place: Commune) -> str:
    """libelleCommuneEtablissement: the upper-case name; 'LYON 3EME' style for an arrondissement."""
    if place.type != ARRONDISSEMENT_MUNICIPAL:
        return place.ncc
    # Lyon's arrondissements are 69381…69389; Paris's and Marseille's end in 01…20.
    number = int(place.code[-2:]) - (80 if place.code.startswith("6938") else 0)
    return f"{place.ncc.rsplit(' ', 2)[0]} {number}{'ER' if number == 1 else 'EME'}"


def _day(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randint(0, max(0, (last - first).days)))


def _processed(rng: random.Random, since: date) -> datetime:
    """When INSEE last processed the establishment: after its last change, by the end of October 2026."""
    day = _day(rng, since, STOCK_END)
    if rng.random() < 0.2:  # a good share were touched in the month before the stock
        day = max(day, _day(rng, date(2026, 10, 1), STOCK_END))
    return datetime(day.year, day.month, day.day, rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59))


# --------------------------------------------------------------------------------------------
# Identifiers and coordinates
# --------------------------------------------------------------------------------------------


def _luhn_complete(payload: str) -> str:
    """payload followed by the digit that makes it pass the Luhn check (SIREN and SIRET do)."""
    total = 0
    for position, char in enumerate(reversed(payload)):
        digit = int(char) * (2 if position % 2 == 0 else 1)
        total += digit - 9 if digit > 9 else digit
    return payload + str((10 - total % 10) % 10)


def _siren(key: str) -> str:
    """A SIREN drawn for one of the story's companies (starting with 9)."""
    rng = random.Random(f"siren-{key}")
    return _luhn_complete(str(rng.randint(90_000_000, 99_999_999)))


def _numbered_siren(place_index: int, number: int) -> str:
    """The SIREN of a commune's number-th company: distinct by construction (starting with 3 to 5)."""
    return _luhn_complete(f"{300 + place_index:03d}{number:05d}")


def _siret(siren: str, number: int) -> str:
    """SIRET of the number-th establishment of a company (NIC 0001x, 0002x…)."""
    return _luhn_complete(f"{siren}{number:04d}")


def _projected(place: Commune, rng: random.Random) -> tuple[str, str]:
    """Coordinates near the town hall, as Sirene gives them: Lambert-93, or UTM 40S in La Réunion."""
    lon = place.lon + rng.uniform(-0.01, 0.01)
    lat = place.lat + rng.uniform(-0.008, 0.008)
    x, y = _utm_40s(lon, lat) if place.departement == "974" else _lambert_93(lon, lat)
    return f"{x:.1f}", f"{y:.1f}"


_A, _F = 6_378_137.0, 1 / 298.257222101  # GRS80 (RGF93 and RGR92)
_E = math.sqrt(2 * _F - _F * _F)


def _lambert_93(lon: float, lat: float) -> tuple[float, float]:
    """EPSG:2154: Lambert conformal conic, parallels 44° and 49°, origin 3°E 46.5°N."""

    def m(phi: float) -> float:
        return math.cos(phi) / math.sqrt(1 - (_E * math.sin(phi)) ** 2)

    def t(phi: float) -> float:
        esin = _E * math.sin(phi)
        return math.tan(math.pi / 4 - phi / 2) / ((1 - esin) / (1 + esin)) ** (_E / 2)

    phi1, phi2, phi0 = math.radians(44), math.radians(49), math.radians(46.5)
    n = (math.log(m(phi1)) - math.log(m(phi2))) / (math.log(t(phi1)) - math.log(t(phi2)))
    big_f = m(phi1) / (n * t(phi1) ** n)
    rho0, rho = _A * big_f * t(phi0) ** n, _A * big_f * t(math.radians(lat)) ** n
    theta = n * math.radians(lon - 3)
    return 700_000 + rho * math.sin(theta), 6_600_000 + rho0 - rho * math.cos(theta)


def _utm_40s(lon: float, lat: float) -> tuple[float, float]:
    """EPSG:2975: transverse Mercator, central meridian 57°E, scale 0.9996, false northing 10,000 km."""
    e2 = _E * _E
    ep2 = e2 / (1 - e2)
    phi, k0 = math.radians(lat), 0.9996
    n = _A / math.sqrt(1 - e2 * math.sin(phi) ** 2)
    t, c = math.tan(phi) ** 2, ep2 * math.cos(phi) ** 2
    a = math.cos(phi) * math.radians(lon - 57)
    m = _A * (
        (1 - e2 / 4 - 3 * e2**2 / 64 - 5 * e2**3 / 256) * phi
        - (3 * e2 / 8 + 3 * e2**2 / 32 + 45 * e2**3 / 1024) * math.sin(2 * phi)
        + (15 * e2**2 / 256 + 45 * e2**3 / 1024) * math.sin(4 * phi)
        - (35 * e2**3 / 3072) * math.sin(6 * phi)
    )
    x = k0 * n * (a + (1 - t + c) * a**3 / 6 + (5 - 18 * t + t * t + 72 * c - 58 * ep2) * a**5 / 120)
    y = k0 * (m + n * math.tan(phi) * (a * a / 2 + (5 - t + 9 * c + 4 * c * c) * a**4 / 24
                                       + (61 - 58 * t + t * t + 600 * c - 330 * ep2) * a**6 / 720))
    return 500_000 + x, 10_000_000 + y
