"""A fictitious France at national size (or a fraction of it), for benchmarks.

The régions and départements are the real ones (`facts.py`); their communes are generated:
about 35,000 communes actuelles at scale 1, with a heavy-tailed population (a few large
cities, a préfecture and sous-préfectures per département, most communes under 1,000
inhabitants), town-hall coordinates inside a box around each département's real centre,
arrondissements, cantons and EPCI made of neighbouring communes, and two geography
vintages (2025 and 2026) told apart by a few hundred communes nouvelles created on
2026-01-01. Older communes nouvelles (2017) give both vintages their communes déléguées.
Paris, Marseille and Lyon keep their real codes and arrondissements municipaux.

Everything is drawn with numpy from one seed, département by département (vectors inside),
so the same scale and seed give the same territory. The result is a few polars tables;
:meth:`NationalTerritory.connect` puts them in an in-memory DuckDB for the source writers.

At a scale below 1 each département keeps a share of its communes (at least a few), so
every département and région still exists and the sizes shrink with the scale.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from pipelines.sample.national.facts import (
    DEPARTEMENTS,
    EPSG_BY_DEPARTEMENT,
    FIXED_COMMUNE_COUNTS,
    METROPOLITAN_EPSG,
    PLM_CITIES,
    PLM_EPCIS,
    REGIONS,
)

GEOGRAPHY_VINTAGES = ("2025", "2026")
DEFAULT_SEED = 20261207
HISTORIC_MERGER_DATE = "2017-01-01"
NEW_MERGER_DATE = "2026-01-01"
METRO_COMMUNES = 35_900  # drawn for metropolitan France at scale 1: about 34,700 communes actuelles once merged
COMMUNES_PER_EPCI = 28
COMMUNES_PER_CANTON = 17
HISTORIC_MERGER_SHARE = 0.022  # of a département's communes, each leading a 2017 commune nouvelle
NEW_MERGER_SHARE = 0.0085  # leading a 2026 commune nouvelle: about 300 at scale 1
MIN_COMMUNES = 4  # per département (Paris has one) whatever the scale
RESERVED_NUMBERS = {"13": (200, 300), "69": (380, 390)}  # [first, last + 1) of each département's arrondissement codes

COMMUNE_ACTUELLE = "commune-actuelle"
COMMUNE_DELEGUEE = "commune-deleguee"
ARRONDISSEMENT_MUNICIPAL = "arrondissement-municipal"
ARTICLES = {0: "", 1: "", 2: "Le ", 3: "La ", 4: "Les ", 5: "L'"}

_ROOTS = np.array([
    "Bran", "Cor", "Dam", "Ger", "Lour", "Marc", "Pal", "Rul", "Sav", "Tram", "Ver", "Char", "Mon",
    "Cluz", "Bour", "Sen", "Vil", "Aum", "Épi", "Ous", "Hur", "Fla", "Pres", "Bel", "Bre", "Cha",
    "Dar", "Four", "Gleiz", "Lanc", "Mor", "Pom", "Quin", "Rig", "Sour", "Tal", "Vaux", "Cer", "Jar",
    "Lis", "Ois", "Am", "Gré", "Ker", "Plou", "Tré", "Lan", "Gour", "Cast", "Mont", "Roch", "Val",
])  # fmt: skip
_ENDINGS = np.array([
    "ay", "ey", "y", "ans", "ot", "eux", "ange", "ière", "igny", "ennes", "oux", "ogne", "ecy", "ize",
    "agny", "ieu", "as", "in", "age", "oud", "eins", "onne", "ac", "ac", "argues", "el", "ern", "ourt",
])  # fmt: skip
_LINKS = np.array(["-sur-", "-en-", "-lès-", "-la-", "-le-", "-de-"])
_VOWELS = tuple("AEIOUYÉÈÊÎÔ")


@dataclass(frozen=True)
class NationalTerritory:
    """The generated territory: régions, départements, communes and EPCI of each vintage, movements."""

    scale: float
    seed: int
    regions: pl.DataFrame
    departements: pl.DataFrame
    communes: pl.DataFrame  # every vintage stacked: one row per (vintage, code, type)
    epcis: pl.DataFrame  # (vintage, code, nom, type, financing)
    movements: pl.DataFrame  # v_mvt_commune rows, newest first

    def connect(self) -> duckdb.DuckDBPyConnection:
        """An in-memory DuckDB holding the tables (regions, departements, communes, epcis, movements)."""
        from pipelines.sample.national.common import add_macros

        # what does not fit in memory spills to the system's temporary folder (removed on close)
        spill = Path(tempfile.gettempdir()) / f"territoires-sample-{os.getpid()}-{id(self)}"
        con = duckdb.connect(config={"temp_directory": str(spill)})
        add_macros(con, self.seed)
        for name in ("regions", "departements", "communes", "epcis", "movements"):
            frame = getattr(self, name)  # noqa: F841 - read by DuckDB below
            con.execute(f"create table {name} as select * from frame")
        con.execute(
            """
            create view actuelles as select * from communes where type = 'commune-actuelle';
            -- communes as most statistical files list them: a city by its arrondissements municipaux
            create view statistical_communes as
            select * from communes
            where type = 'arrondissement-municipal'
               or (type = 'commune-actuelle' and code not in (select distinct parent from communes
                                                              where type = 'arrondissement-municipal'));
            -- passenger railway stations (none overseas): every town, a share of smaller communes;
            -- uic is the 8-digit UIC code (87 + 6 digits), the point a few hundred metres from the town hall
            create view stations as
            select
                '87' || lpad(cast(row_number() over (order by code) as varchar), 6, '0') as uic,
                code, departement, libelle as commune_name, population,
                lon + (rnd(code, 'station-x') - 0.5) * 0.01 as lon,
                lat + (rnd(code, 'station-y') - 0.5) * 0.006 as lat,
                case when population >= 100000 then 'national' when population >= 10000 then 'regional' else 'local' end as kind
            from statistical_communes
            where vintage = '2026' and zone = 'metro'
              and rnd(code, 'station') < case
                    when population >= 20000 then 1.0 when population >= 5000 then 0.6
                    when population >= 1000 then 0.12 else 0.025 end
            """
        )
        return con

    def commune_count(self, vintage: str) -> int:
        return self.communes.filter((pl.col("vintage") == vintage) & (pl.col("type") == COMMUNE_ACTUELLE)).height


def scale_of(text: str | float) -> float:
    """`national` is 1; otherwise a number in (0, 1] (0.25: a quarter of the communes)."""
    if isinstance(text, str) and text.strip().lower() == "national":
        return 1.0
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise ValueError(f"scale {text!r}: write 'national' or a number in (0, 1], e.g. 0.25") from None
    if not 0 < value <= 1:
        raise ValueError(f"scale {text!r}: write 'national' or a number in (0, 1], e.g. 0.25")
    return value


def build_national_territory(scale: float = 1.0, seed: int = DEFAULT_SEED) -> NationalTerritory:
    """The whole territory at `scale` (1: about 35,000 communes)."""
    rng = np.random.default_rng(seed)
    counts = _commune_counts(rng, scale)
    places, epci_rows = [], []
    for code, name, region, tncc, lon, lat, half_w, half_h in DEPARTEMENTS:
        dep_rng = np.random.default_rng([seed, _departement_number(code)])
        frame, epcis = _departement_places(dep_rng, code, region, (lon, lat, half_w, half_h), counts[code])
        places.append(frame)
        epci_rows.append(epcis)
    base = pl.concat(places)
    base = _grand_paris(base)
    epcis = pl.concat(epci_rows).filter(pl.col("code").is_in(base["epci"].unique().implode()))
    communes, movements = _geographies(base)
    epci_table = pl.concat([epcis.with_columns(vintage=pl.lit(v)) for v in GEOGRAPHY_VINTAGES])
    epci_table = _epci_types(epci_table, communes)
    departements = _departement_table(communes)
    regions = _region_table(departements)
    return NationalTerritory(scale, seed, regions, departements, communes, epci_table, movements)


# ----------------------------------------------------------------------------- communes


def _departement_number(code: str) -> int:
    return {"2A": 201, "2B": 202}.get(code, None) or int(code)


def _commune_counts(rng: np.random.Generator, scale: float) -> dict[str, int]:
    drawn = [d[0] for d in DEPARTEMENTS if d[0] not in FIXED_COMMUNE_COUNTS]
    fixed_metro = sum(n for code, n in FIXED_COMMUNE_COUNTS.items() if len(code) == 2)
    weights = rng.lognormal(np.log(360), 0.42, size=len(drawn))
    raw = np.clip(np.round(weights / weights.sum() * (METRO_COMMUNES - fixed_metro)), 40, 880).astype(int)
    counts = dict(zip(drawn, raw.tolist())) | FIXED_COMMUNE_COUNTS
    return {code: (1 if code == "75" else max(MIN_COMMUNES, round(n * scale))) for code, n in counts.items()}


def _names(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(names without their article, TNCC) of n communes."""
    a = np.char.add(rng.choice(_ROOTS, n), rng.choice(_ENDINGS, n))
    b = np.char.add(rng.choice(_ROOTS, n), rng.choice(_ENDINGS, n))
    pattern = rng.choice(8, n, p=[0.42, 0.12, 0.10, 0.08, 0.08, 0.08, 0.06, 0.06])
    linked = np.char.add(np.char.add(a, rng.choice(_LINKS, n)), b)
    names = np.select(
        [pattern == 1, pattern == 2, pattern == 3, pattern == 6, pattern == 7],
        [np.char.add("Saint-", a), linked, np.char.add(a, "-le-Grand"), np.char.add(a, "s"), np.char.add("Val-", a)],
        default=a,
    )
    vowel = pl.Series(names, dtype=pl.Utf8).str.contains(f"^[{''.join(_VOWELS)}]").to_numpy()
    tncc = np.select([pattern == 4, pattern == 5, pattern == 6, vowel], [2, 3, 4, 1], default=0)
    return names, tncc


def _departement_places(
    rng: np.random.Generator, dep: str, region: str, box: tuple[float, float, float, float], n: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Every commune code ever used in a département (before any merger), and its EPCI."""
    lon0, lat0, half_w, half_h = box
    drom = len(dep) == 3
    plm = next((c for c in PLM_CITIES if c[1] == dep), None)
    # 2017 communes nouvelles: each absorbs 1.75 communes on average, so there are n communes after them.
    historic = 0 if (drom or dep in ("75", "92", "93", "94")) else int(rng.binomial(n, HISTORIC_MERGER_SHARE))
    places = n + round(historic * 1.75)  # codes that exist before the 2017 mergers
    highest = 99 if drom else 999
    # numbers read as arrondissements municipaux (751xx, 6938x, 132xx) are not commune numbers, as in the COG
    taken = np.arange(*RESERVED_NUMBERS[dep]) if dep in RESERVED_NUMBERS else np.array([], dtype=int)
    pool = np.setdiff1d(np.arange(1, min(highest, max(places + 3, round(places * 1.35)) + taken.size) + 1), taken)
    numbers = np.sort(rng.choice(pool, places, replace=False))
    if plm:  # the city keeps its real code
        wanted = int(plm[0][-3:])
        if wanted not in numbers:
            numbers[rng.integers(places)] = wanted
            numbers = np.sort(numbers)
    if dep == "75":
        numbers = np.array([56])
    width = 2 if drom else 3
    codes = np.char.add(dep, np.char.zfill(numbers.astype(str), width))
    names, tncc = _names(rng, places)
    lon = lon0 + rng.uniform(-half_w, half_w, places)
    lat = lat0 + rng.uniform(-half_h, half_h, places)

    # Populations: most communes small, some towns, the préfecture and sous-préfectures larger.
    if drom:
        population = rng.lognormal(np.log(11_000), 0.85, places)
    elif dep in ("92", "93", "94"):
        population = rng.lognormal(np.log(38_000), 0.5, places)
    else:
        population = rng.lognormal(np.log(430), 1.3, places)
        towns = rng.random(places) < 0.03
        population[towns] *= rng.uniform(4, 14, towns.sum())
    chef = int(np.flatnonzero(codes == plm[0])[0]) if plm else int(rng.integers(places))
    arrondissement_count = int(np.clip(round(n / 130) + 1, 1, 4)) if dep != "75" else 1
    sub = rng.choice(np.setdiff1d(np.arange(places), [chef]), min(arrondissement_count - 1, places - 1), replace=False)
    population[sub] = rng.lognormal(np.log(12_000), 0.55, sub.size)
    population[chef] = plm[3] if plm else rng.lognormal(np.log(60_000), 0.6) * (1.6 if drom else 1)
    lon[chef], lat[chef] = lon0 + rng.normal(0, half_w / 10), lat0 + rng.normal(0, half_h / 10)
    uninhabited = rng.random(places) < 0.0004
    population = np.where(uninhabited, 0, np.round(population)).astype(np.int64)

    # Arrondissements: sectors around the centre (the chef-lieu's first); cantons and EPCI: nearest seat.
    angle = np.arctan2(lat - lat0, lon - lon0)
    sector = np.floor((angle + np.pi) / (2 * np.pi) * arrondissement_count).astype(int) % arrondissement_count
    sector = (sector - sector[chef]) % arrondissement_count
    arrondissement = np.char.add(dep, (sector + 1).astype(str))
    canton_count = int(np.clip(round(n / COMMUNES_PER_CANTON), 1, 99))
    canton = np.char.add(dep, np.char.zfill((_nearest_seat(rng, lon, lat, canton_count, chef) + 1).astype(str), 2))
    epci_count = max(1, round(n / COMMUNES_PER_EPCI))
    epci_index = _nearest_seat(rng, lon, lat, epci_count, chef)
    epci_codes = np.char.add(f"2{_departement_number(dep):03d}", np.char.zfill(np.arange(1, epci_count + 1).astype(str), 5))
    if plm:
        epci_codes[epci_index[chef]] = PLM_EPCIS[plm[0]][0]
    seat_names = {int(e): names[np.flatnonzero(epci_index == e)[0]] for e in np.unique(epci_index)}
    epcis = pl.DataFrame({
        "code": epci_codes[list(seat_names)],
        "nom": [PLM_EPCIS[plm[0]][1] if plm and epci_codes[e] == PLM_EPCIS[plm[0]][0] else f"Communauté de communes {name}"
                for e, name in seat_names.items()],
        "financing": np.where(rng.random(len(seat_names)) < 0.08, "FA", "FPU"),
    })  # fmt: skip

    density = np.select(
        [population >= 50_000, population >= 15_000, population >= 5_000, population >= 2_000, population >= 700, population >= 150],
        [1, 2, 3, 4, 5, 6], default=7,
    )  # fmt: skip
    jitter = rng.choice([-1, 0, 0, 0, 0, 1], places)
    density = np.clip(density + np.where(population >= 50_000, 0, jitter), 1, 7)
    if dep in ("75", "92", "93", "94"):
        density[:] = 1
    prefix = "20" if dep in ("2A", "2B") else dep
    postal = np.char.add(prefix, np.char.zfill((rng.integers(0, 10 ** (5 - len(prefix)) // 10, places) * 10).astype(str), 5 - len(prefix)))
    frame = pl.DataFrame({
        "code": codes, "name": names, "tncc": tncc.astype(np.int64), "departement": dep, "region": region,
        "arrondissement": arrondissement, "canton": canton, "epci": epci_codes[epci_index],
        "population": population, "growth": rng.normal(0.003, 0.008, places),
        "counted_apart": rng.uniform(0, 0.03, places), "lon": lon.round(5), "lat": lat.round(5),
        "density_level": density.astype(np.int64), "postal_code": postal, "is_chef_lieu": np.arange(places) == chef,
        "merger": _merger_groups(rng, places, epci_index, chef, population, historic, dep),
    })  # fmt: skip
    return frame, epcis


def _nearest_seat(rng: np.random.Generator, lon: np.ndarray, lat: np.ndarray, k: int, first: int) -> np.ndarray:
    """Index of the nearest of k seats (the first at `first`, the others drawn) for every point."""
    others = rng.choice(np.setdiff1d(np.arange(lon.size), [first]), min(k - 1, lon.size - 1), replace=False)
    seats = np.concatenate([[first], others]).astype(int)
    d2 = (lon[:, None] - lon[seats][None, :]) ** 2 * np.cos(np.radians(lat.mean())) ** 2 + (lat[:, None] - lat[seats][None, :]) ** 2
    return d2.argmin(axis=1)


def _merger_groups(
    rng: np.random.Generator, places: int, epci: np.ndarray, chef: int, population: np.ndarray, historic: int, dep: str
) -> np.ndarray:
    """A merger label per place: '' (none), 'h<k>' (the k-th commune nouvelle of 2017, `historic` of
    them) or 'n<k>' (of 2026, about NEW_MERGER_SHARE of the places).

    Groups are runs of 2 to 4 consecutive communes of one EPCI (in code order), never the
    chef-lieu, never in Paris and its inner ring nor overseas.
    """
    label = np.full(places, "", dtype=object)
    if dep in ("75", "92", "93", "94") or len(dep) == 3:
        return label.astype(str)
    order = np.lexsort((np.arange(places), epci))
    blocks = [order[i : i + 4] for i in range(0, places - 3, 4)]
    usable = [b for b in blocks if len(set(epci[b].tolist())) == 1 and chef not in b and population[b].max() < 20_000]
    rng.shuffle(usable)
    n_historic = min(len(usable), historic)
    n_new = min(len(usable) - n_historic, int(rng.binomial(places, NEW_MERGER_SHARE)))
    for k, block in enumerate(usable[:n_historic]):
        label[block[: rng.choice([2, 3, 4], p=[0.45, 0.35, 0.2])]] = f"h{k}"
    for k, block in enumerate(usable[n_historic : n_historic + n_new]):
        label[block[: rng.choice([2, 3], p=[0.8, 0.2])]] = f"n{k}"
    return label.astype(str)


def _grand_paris(base: pl.DataFrame) -> pl.DataFrame:
    """Paris and the communes of its inner ring form the Métropole du Grand Paris."""
    mgp = PLM_EPCIS["75056"][0]
    return base.with_columns(
        epci=pl.when(pl.col("departement").is_in(["75", "92", "93", "94"])).then(pl.lit(mgp)).otherwise("epci")
    )


# ----------------------------------------------------------------------------- vintages


def _geographies(base: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Communes of each vintage (with déléguées and arrondissements) and the movements file."""
    base = base.with_columns(
        merger_key=pl.when(pl.col("merger") != "").then(pl.col("departement") + ":" + pl.col("merger")),
        date=pl.when(pl.col("merger").str.starts_with("h")).then(pl.lit(HISTORIC_MERGER_DATE))
        .when(pl.col("merger").str.starts_with("n")).then(pl.lit(NEW_MERGER_DATE)),
    )  # fmt: skip
    groups = (
        base.filter(pl.col("merger_key").is_not_null())
        .sort(["merger_key", "population", "code"], descending=[False, True, False])
        .group_by("merger_key", maintain_order=True)
        .agg(
            leader=pl.col("code").first(),
            new_name=pl.when(pl.len() == 2).then(pl.col("name").first() + "-" + pl.col("name").last())
            .otherwise(pl.lit("Coteaux du ") + pl.col("name").first()),
            new_tncc=pl.when(pl.len() == 2).then(pl.col("tncc").first()).otherwise(pl.lit(4)),
            members=pl.col("code"),
        )
    )  # fmt: skip
    with_group = base.join(groups, on="merger_key", how="left")
    frames = [_vintage(with_group, v) for v in GEOGRAPHY_VINTAGES]
    return pl.concat(frames, how="diagonal_relaxed").sort(["vintage", "code", "type"]), _movements(with_group)


def _vintage(places: pl.DataFrame, vintage: str) -> pl.DataFrame:
    years = int(vintage) - int(GEOGRAPHY_VINTAGES[0])
    cutoff = f"{vintage}-01-01"
    people = places.with_columns(
        population=(pl.col("population") * (1 + pl.col("growth")) ** years).round().cast(pl.Int64),
    ).with_columns(population_totale=(pl.col("population") * (1 + pl.col("counted_apart"))).round().cast(pl.Int64))
    merged = pl.col("date").is_not_null() & (pl.col("date") <= cutoff)
    common = ["departement", "region", "arrondissement", "canton", "epci", "lon", "lat", "density_level", "postal_code"]

    untouched = people.filter(~merged).select(
        "code", "name", "tncc", *common, "population", "population_totale", "is_chef_lieu",
        former_codes=pl.lit([], pl.List(pl.Utf8)),
    )  # fmt: skip
    nouvelles = (
        people.filter(merged)
        .group_by("merger_key", maintain_order=True)
        .agg(
            pl.col("leader").first().alias("code"), pl.col("new_name").first().alias("name"),
            pl.col("new_tncc").first().alias("tncc"),
            *[pl.col(c).sort_by(pl.col("code") == pl.col("leader"), descending=True).first() for c in common if c != "density_level"],
            pl.col("density_level").min(), pl.col("population").sum(), pl.col("population_totale").sum(),
            pl.col("is_chef_lieu").any(),
            former_codes=pl.col("code").filter(pl.col("code") != pl.col("leader")).sort(),
        )
        .drop("merger_key")
    )  # fmt: skip
    actuelles = pl.concat([untouched, nouvelles.select(untouched.columns)], how="vertical_relaxed").with_columns(
        type=pl.lit(COMMUNE_ACTUELLE), parent=pl.lit(None, pl.Utf8)
    )
    deleguees = people.filter(merged).select(
        "code", "name", "tncc", *[c for c in common if c != "epci"],
        type=pl.lit(COMMUNE_DELEGUEE), parent=pl.col("leader"), epci=pl.lit(None, pl.Utf8),
        population=pl.lit(None, pl.Int64), population_totale=pl.lit(None, pl.Int64), is_chef_lieu=pl.lit(False),
        former_codes=pl.lit([], pl.List(pl.Utf8)),
    )  # fmt: skip
    arrondissements = _arrondissements_municipaux(actuelles)
    frame = pl.concat([actuelles, deleguees, arrondissements], how="diagonal_relaxed")
    return _finish(frame, vintage)


def _arrondissements_municipaux(actuelles: pl.DataFrame) -> pl.DataFrame:
    """The arrondissements municipaux of Paris, Marseille and Lyon, sharing their city's population."""
    rows = []
    for city_code, _, codes, _ in PLM_CITIES:
        city = actuelles.filter(pl.col("code") == city_code)
        if city.is_empty():
            continue
        n = len(codes)
        weights = np.linspace(1.6, 0.6, n)
        weights = weights / weights.sum()
        city_row = city.row(0, named=True)
        arm = pl.DataFrame({"code": list(codes), "weight": weights, "k": np.arange(1, n + 1)})
        rows.append(
            arm.with_columns(
                name=pl.lit(city_row["name"] + " ") + pl.col("k").cast(pl.Utf8)
                + pl.when(pl.col("k") == 1).then(pl.lit("er")).otherwise(pl.lit("e")) + pl.lit(" Arrondissement"),
                tncc=pl.lit(0, pl.Int64), departement=pl.lit(city_row["departement"]), region=pl.lit(city_row["region"]),
                arrondissement=pl.lit(city_row["arrondissement"]), canton=pl.lit(""), epci=pl.lit(None, pl.Utf8),
                lon=pl.lit(city_row["lon"]) + (pl.col("k") % 5 - 2) * 0.012,
                lat=pl.lit(city_row["lat"]) + (pl.col("k") // 5 - 1.5) * 0.01,
                density_level=pl.lit(1, pl.Int64), postal_code=pl.lit(city_row["postal_code"]),
                population=(pl.col("weight") * city_row["population"]).round().cast(pl.Int64),
                population_totale=(pl.col("weight") * city_row["population_totale"]).round().cast(pl.Int64),
                is_chef_lieu=pl.lit(False), type=pl.lit(ARRONDISSEMENT_MUNICIPAL), parent=pl.lit(city_code),
                former_codes=pl.lit([], pl.List(pl.Utf8)),
            ).drop("weight", "k")
        )  # fmt: skip
    return pl.concat(rows) if rows else pl.DataFrame()


def _finish(frame: pl.DataFrame, vintage: str) -> pl.DataFrame:
    """Derived columns every writer uses: INSEE names, zone, projection, CTCD, SIREN."""
    plm_totals = frame.filter(pl.col("type") == ARRONDISSEMENT_MUNICIPAL).group_by("parent").agg(
        pl.col("population").sum().alias("arm_population"), pl.col("population_totale").sum().alias("arm_totale")
    )
    frame = frame.join(plm_totals, left_on="code", right_on="parent", how="left").with_columns(
        population=pl.when((pl.col("type") == COMMUNE_ACTUELLE) & pl.col("arm_population").is_not_null())
        .then("arm_population").otherwise("population"),
        population_totale=pl.when((pl.col("type") == COMMUNE_ACTUELLE) & pl.col("arm_totale").is_not_null())
        .then("arm_totale").otherwise("population_totale"),
    ).drop("arm_population", "arm_totale")  # fmt: skip
    drom = pl.col("departement").str.len_chars() == 3
    lyon_metropole = PLM_EPCIS["69123"][0]
    frame = frame.with_columns(
        vintage=pl.lit(vintage),
        libelle=pl.col("tncc").replace_strict(ARTICLES, return_dtype=pl.Utf8) + pl.col("name"),
        zone=pl.when(drom).then(pl.lit("drom")).otherwise(pl.lit("metro")),
        epsg=pl.col("departement").replace_strict(EPSG_BY_DEPARTEMENT, default=METROPOLITAN_EPSG, return_dtype=pl.Int64),
        ctcd=pl.when(pl.col("departement").is_in(["2A", "2B"])).then(pl.lit("20R"))
        .when(pl.col("departement") == "75").then(pl.lit("75C"))
        .when((pl.col("departement") == "69") & (pl.col("epci") == lyon_metropole)).then(pl.lit("69M"))
        .otherwise(pl.col("departement") + "D"),
    )  # fmt: skip
    # The ctcd of déléguées and arrondissements follows their parent's.
    parents = frame.filter(pl.col("type") == COMMUNE_ACTUELLE).select(pl.col("code").alias("parent"), pl.col("ctcd").alias("parent_ctcd"))
    frame = frame.join(parents, on="parent", how="left").with_columns(
        ctcd=pl.coalesce("parent_ctcd", "ctcd")
    ).drop("parent_ctcd")
    frame = frame.with_columns(
        siren=pl.when(pl.col("type") == COMMUNE_ACTUELLE).then(_siren(pl.col("code"))),
    )
    return frame.select(
        "vintage", "code", "type", "name", "tncc", "libelle", "departement", "region", "zone", "epsg",
        "arrondissement", "canton", "ctcd", "parent", "epci", "population", "population_totale", "lon", "lat",
        "density_level", "postal_code", "siren", "former_codes", "is_chef_lieu",
    )  # fmt: skip


def _siren(code: pl.Expr) -> pl.Expr:
    """A 9-digit SIREN per commune code: 21, the code with Corsica's letters as digits, a key digit."""
    digits = code.str.replace("2A", "20").str.replace("2B", "21").str.zfill(6)
    body = pl.lit("21") + digits.str.slice(-6)
    key = body.str.slice(2).cast(pl.Int64) % 10
    return body + key.cast(pl.Utf8)


def _movements(places: pl.DataFrame) -> pl.DataFrame:
    """v_mvt_commune rows of the mergers: each former commune to the new one (MOD 32) and to a déléguée."""
    merged = places.filter(pl.col("merger_key").is_not_null())
    to_nouvelle = merged.select(
        mod=pl.lit(32), date_eff=pl.col("date"), typecom_av=pl.lit("COM"), com_av=pl.col("code"), tncc_av=pl.col("tncc"),
        name_av=pl.col("name"), typecom_ap=pl.lit("COM"), com_ap=pl.col("leader"), tncc_ap=pl.col("new_tncc"),
        name_ap=pl.col("new_name"),
    )  # fmt: skip
    to_deleguee = merged.select(
        mod=pl.lit(32), date_eff=pl.col("date"), typecom_av=pl.lit("COM"), com_av=pl.col("code"), tncc_av=pl.col("tncc"),
        name_av=pl.col("name"), typecom_ap=pl.lit("COMD"), com_ap=pl.col("code"), tncc_ap=pl.col("tncc"),
        name_ap=pl.col("name"),
    )  # fmt: skip
    return pl.concat([to_nouvelle, to_deleguee]).sort(["date_eff", "com_av", "typecom_ap"], descending=[True, False, False])


# ----------------------------------------------------------------------------- upper levels


def _epci_types(epcis: pl.DataFrame, communes: pl.DataFrame) -> pl.DataFrame:
    """CC, CA or CU by population (the three cities' métropoles keep theirs); EPCI without members dropped."""
    sizes = communes.filter(pl.col("type") == COMMUNE_ACTUELLE).group_by("vintage", "epci").agg(
        pl.col("population").sum().alias("people"),
        pl.col("name").sort_by(pl.col("population"), descending=True).first().alias("seat"),
    )
    fixed = {code: kind for code, _, kind in PLM_EPCIS.values()}
    joined = epcis.join(sizes, left_on=["vintage", "code"], right_on=["vintage", "epci"], how="inner")
    kind = (
        pl.when(pl.col("code").is_in(list(fixed))).then(pl.col("code").replace_strict(fixed, default=None))
        .when(pl.col("people") >= 250_000).then(pl.lit("CU"))
        .when(pl.col("people") >= 50_000).then(pl.lit("CA"))
        .otherwise(pl.lit("CC"))
    )  # fmt: skip
    label = {"CC": "Communauté de communes ", "CA": "Communauté d'agglomération ", "CU": "Communauté urbaine "}
    return (
        joined.with_columns(type=kind)
        .with_columns(
            nom=pl.when(pl.col("code").is_in(list(fixed))).then("nom")
            .otherwise(pl.col("type").replace_strict(label, default="") + pl.col("seat"))
        )  # fmt: skip
        .select("vintage", "code", "nom", "type", "financing")
        .sort("vintage", "code")
    )


def _departement_table(communes: pl.DataFrame) -> pl.DataFrame:
    chefs = (
        communes.filter((pl.col("vintage") == GEOGRAPHY_VINTAGES[-1]) & pl.col("is_chef_lieu"))
        .select("departement", pl.col("code").alias("chef_lieu"))
        .unique("departement")
    )
    rows = pl.DataFrame(
        [(c, n, r, t) for c, n, r, t, *_ in DEPARTEMENTS],
        schema={"code": pl.Utf8, "nom": pl.Utf8, "region": pl.Utf8, "tncc": pl.Int64},
        orient="row",
    )
    return rows.join(chefs, left_on="code", right_on="departement", how="left").with_columns(
        zone=pl.when(pl.col("code").str.len_chars() == 3).then(pl.lit("drom")).otherwise(pl.lit("metro")),
        ctcd=pl.when(pl.col("code").is_in(["2A", "2B"])).then(pl.lit("20R"))
        .when(pl.col("code") == "75").then(pl.lit("75C")).otherwise(pl.col("code") + "D"),
    )  # fmt: skip


def _region_table(departements: pl.DataFrame) -> pl.DataFrame:
    chefs = dict(departements.select("code", "chef_lieu").iter_rows())
    return pl.DataFrame(
        [(code, nom, tncc, zone, chefs[dep]) for code, nom, tncc, zone, dep in REGIONS],
        schema={"code": pl.Utf8, "nom": pl.Utf8, "tncc": pl.Int64, "zone": pl.Utf8, "chef_lieu": pl.Utf8},
        orient="row",
    )
