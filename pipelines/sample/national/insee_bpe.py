"""National sample of insee_bpe: about 2.7 million equipment points per vintage, and the 2024 counts.

The vintages and files of the bundled sample (:mod:`pipelines.sample.insee_bpe`), for the
communes of geography 2025, Paris, Lyon and Marseille by arrondissement as in the BPE:

* 2021: bpe21_ensemble_xy_csv.zip, one `;`-separated CSV in the 2021 layout;
* 2024: BPE24.parquet in the ~90 columns of the 2024 layout (those the sample fills, and
  the density levels), and DS_BPE_CSV_FR.zip, the counts per commune, arrondissement and
  département and type with INSEE's totals by domain and overall, made from the same
  points (the pipeline cross-checks them).

What a commune has depends on its population. Each kind of equipment has a rule: one per
`per` inhabitants in communes of at least `town` inhabitants, that rate times `village`
below (so most villages have no GP), none from `until` on (post agencies are for villages);
each commune's expected number is drawn ±30 % and rounded at random. The equipment of the
dbt seed bpe_equipment_types takes the codes valid in each vintage (as the sample's
:func:`codes_by_vintage`); GP one per 1,300 inhabitants from 900 on, pharmacy one per
3,000 from 2,000 on. Other codes in INSEE's format (a domain letter and three digits)
stand for the other services, shops, health professions, schools, sports and tourism
facilities, so that most points are services and shops, as in the real base (at scale 1:
about 1.25 million A, 350,000 B, 70,000 C, 600,000 D, 40,000 E, 340,000 F, 40,000 G). The
stations are those of the territory's `stations` view (national, regional, local).

Points lie around the town hall (a normal spread of 350 m, wider in towns, up to 2 km),
projected as INSEE does (Lambert-93, the local projection overseas: EPSG column and, in
2024, LONGITUDE/LATITUDE); QUALITE_XY is Bonne for 85 %, Acceptable 11 %, Mauvaise 3.5 %
(farther off) and Non géolocalisé 0.5 % (no coordinates). The totals follow the scale:
the rates shrink in a smaller territory, which keeps all its large towns.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import NamedTuple

import duckdb
import polars as pl

from pipelines.sample.insee_bpe import (
    COUNTS_2024,
    COUNTS_HEADER,
    DETAIL_2021,
    DETAIL_2024,
    GEOGRAPHY_VINTAGE,
    HEADER_2021,
    HEADER_2024,
    NOT_GEOLOCATED,
    SOURCE,
    VINTAGES,
    codes_by_vintage,
    counts_2024_members,
)
from pipelines.sample.national.common import bounded_memory, vintage_dir, zip_members
from pipelines.sample.national.territory import NationalTerritory
from pipelines.sample.territory import build_territory

POINTS = 2_700_000  # equipment points per vintage at scale 1
DETAIL_2021_MEMBER = DETAIL_2021.removesuffix("_csv.zip") + ".csv"  # bpe21_ensemble_xy.csv
# DS_BPE columns from the stacked counts.
COUNT_COLUMNS = {
    "GEO": "geo", "GEO_OBJECT": "geo_object", "FACILITY_DOM": "dom", "FACILITY_SDOM": "sdom", "FACILITY_TYPE": "typequ",
    "BPE_MEASURE": "'FACILITIES'", "UNIT_MEASURE": "'NB'", "OBS_STATUS": "'A'", "UNIT_MULT": "'0'",
    "TIME_PERIOD": "'2024'", "OBS_VALUE": "cast(n as varchar)",
}  # fmt: skip


class Rule(NamedTuple):
    """How many of an equipment a commune has, from its population."""

    per: int  # one per `per` inhabitants…
    town: int = 0  # …in communes of at least `town` inhabitants
    village: float = 1.0  # below `town`, that rate times this share
    until: int | None = None  # none in communes of this population or more


# The equipment of the dbt seed (codes by vintage); stations come from the territory.
SEED_RULES = {
    "gp": Rule(1_300, 900, 0.15),
    "pharmacy": Rule(3_000, 2_000, 0.4),
    "post_office": Rule(9_000, 2_000, 0.1),
    "post_agency": Rule(2_000, 500, 0.3, until=3_000),
    "post_relay": Rule(7_000),
    "bank": Rule(2_500, 1_500, 0.2),
    "restaurant": Rule(350),
    "grocery": Rule(3_000),
    "convenience_store": Rule(5_000, 2_000, 0.3),
    "bakery": Rule(1_600, 500, 0.4),
    "butcher": Rule(4_500, 1_500, 0.3),
    "supermarket": Rule(5_500, 2_500, 0.2),
    "hypermarket": Rule(30_000, 15_000, 0.1),
    "school_nursery": Rule(4_500, 800, 0.4),
    "school_primary": Rule(1_800, 400, 0.5),
    "nursery": Rule(5_000, 2_500, 0.2),
    "ehpad": Rule(8_000, 1_200, 0.3),
    "france_services": Rule(10_000, 1_500, 0.0, until=8_000),
}
STATION_EQUIPMENT = {kind: f"train_station_{kind}" for kind in ("national", "regional", "local")}

# Other TYPEQU codes, in both vintages.
OTHER_RULES = {
    # services: public services, car services, building trades, personal services
    "A101": Rule(44_000, 10_000, 0.0), "A104": Rule(18_000, 1_500, 0.1), "A121": Rule(29_000, 5_000, 0.0),
    "A301": Rule(960), "A302": Rule(7_400, 3_000, 0.1), "A303": Rule(7_400, 5_000, 0.1),
    "A304": Rule(3_700, 2_000, 0.1), "A401": Rule(400), "A402": Rule(660), "A403": Rule(620), "A404": Rule(510),
    "A405": Rule(550), "A406": Rule(1_300), "A501": Rule(590, 300, 0.3), "A502": Rule(5_100, 2_000, 0.2),
    "A503": Rule(4_400, 5_000, 0.0), "A505": Rule(1_200, 1_500, 0.2), "A506": Rule(6_600, 2_000, 0.1),
    "A507": Rule(960, 800, 0.3),
    # shops
    "B103": Rule(9_100, 5_000, 0.0), "B206": Rule(9_100, 5_000, 0.05), "B301": Rule(3_000, 2_000, 0.2),
    "B302": Rule(730, 3_000, 0.1), "B303": Rule(4_300, 3_000, 0.1), "B304": Rule(3_700, 4_000, 0.0),
    "B305": Rule(4_900, 3_000, 0.1), "B306": Rule(3_700, 3_000, 0.1), "B307": Rule(4_300, 4_000, 0.0),
    "B308": Rule(7_300, 3_000, 0.1), "B309": Rule(3_700, 2_000, 0.2), "B310": Rule(3_000, 4_000, 0.0),
    "B311": Rule(3_000, 4_000, 0.0), "B312": Rule(2_400, 1_500, 0.2), "B313": Rule(2_700, 2_500, 0.2),
    "B316": Rule(3_700, 1_000, 0.3),
    # schools and training
    "C201": Rule(4_700, 3_000, 0.2), "C301": Rule(13_000, 8_000, 0.0), "C302": Rule(21_000, 10_000, 0.0),
    "C303": Rule(32_000, 3_000, 0.05), "C401": Rule(32_000, 20_000, 0.0), "C409": Rule(26_000, 30_000, 0.0),
    "C501": Rule(42_000, 20_000, 0.0), "C601": Rule(21_000, 10_000, 0.0),
    # health: establishments, specialists, other professions, laboratories, care at home
    "D101": Rule(38_000, 20_000, 0.0), "D106": Rule(64_000, 20_000, 0.0), "D107": Rule(83_000, 30_000, 0.0),
    "D108": Rule(9_600, 5_000, 0.1), "D109": Rule(38_000, 20_000, 0.0), "D202": Rule(7_700, 15_000, 0.0),
    "D203": Rule(13_000, 15_000, 0.0), "D206": Rule(16_000, 15_000, 0.0), "D207": Rule(5_800, 15_000, 0.0),
    "D208": Rule(7_700, 15_000, 0.0), "D209": Rule(19_000, 15_000, 0.0), "D210": Rule(13_000, 15_000, 0.0),
    "D212": Rule(5_100, 15_000, 0.0), "D214": Rule(9_600, 15_000, 0.0), "D221": Rule(1_300, 1_500, 0.2),
    "D231": Rule(5_800, 3_000, 0.1), "D232": Rule(320, 500, 0.4), "D233": Rule(510, 800, 0.3),
    "D235": Rule(2_100, 2_000, 0.2), "D236": Rule(9_600, 8_000, 0.0), "D237": Rule(3_200, 2_000, 0.2),
    "D238": Rule(9_600, 5_000, 0.1), "D239": Rule(9_600, 5_000, 0.1), "D240": Rule(9_600, 5_000, 0.1),
    "D242": Rule(9_600, 5_000, 0.1), "D243": Rule(1_600, 2_000, 0.2), "D302": Rule(7_700, 5_000, 0.1),
    "D303": Rule(7_700, 2_000, 0.2), "D402": Rule(13_000, 3_000, 0.1), "D403": Rule(6_400, 2_000, 0.2),
    # transport
    "E101": Rule(1_500, 1_000, 0.3),
    # sports, leisure, culture
    "F101": Rule(14_000, 3_000, 0.1), "F102": Rule(2_600), "F103": Rule(1_700, 300, 0.4),
    "F104": Rule(26_000, 5_000, 0.1), "F106": Rule(6_900), "F107": Rule(13_000, 3_000, 0.1),
    "F108": Rule(43_000, 2_000, 0.1), "F109": Rule(4_300, 1_000, 0.3), "F111": Rule(1_300, 200, 0.5),
    "F112": Rule(3_400, 2_000, 0.2), "F113": Rule(1_100, 200, 0.6), "F114": Rule(5_200, 3_000, 0.1),
    "F116": Rule(2_600, 1_000, 0.3), "F117": Rule(8_600, 3_000, 0.1), "F118": Rule(17_000),
    "F120": Rule(5_200, 5_000, 0.1), "F121": Rule(3_400, 1_500, 0.3), "F201": Rule(26_000),
    "F203": Rule(2_600), "F303": Rule(22_000, 5_000, 0.05), "F304": Rule(17_000, 2_000, 0.1),
    "F305": Rule(22_000, 5_000, 0.1), "F307": Rule(3_400, 500, 0.4),
    # tourism
    "G101": Rule(11_000, 8_000, 0.0), "G102": Rule(2_900, 300, 0.3), "G103": Rule(5_900),
    "G104": Rule(15_000, 1_000, 0.1),
}  # fmt: skip


def write(territory: NationalTerritory, con: duckdb.DuckDBPyConnection, dest: Path) -> list[str]:
    """Write the 2021 detail zip, and the 2024 Parquet detail and counts zip."""
    with bounded_memory(con):
        con.execute(PLACES)
        for vintage in VINTAGES:
            folder = vintage_dir(dest, SOURCE, vintage)
            con.execute(plan_query(vintage, territory.scale))
            con.execute(POINTS_QUERY)
            with tempfile.TemporaryDirectory(prefix=".bpe-", dir=folder) as work:
                if vintage == "2021":
                    write_detail_2021(con, Path(work), folder / DETAIL_2021)
                else:
                    write_detail_2024(con, folder / DETAIL_2024)
                    write_counts_2024(con, Path(work), folder / COUNTS_2024)
        con.execute("drop table bpe_places; drop table bpe_plan; drop table bpe_points")
    return list(VINTAGES)


# Communes and arrondissements holding equipment (Paris, Lyon and Marseille by arrondissement),
# with the facts the files repeat; `city` is the commune an arrondissement belongs to.
PLACES = f"""
    create or replace temp table bpe_places as
    select
        s.code, coalesce(s.parent, s.code) as city, s.departement, s.region,
        coalesce(s.epci, c.epci) as epci, s.libelle, s.postal_code, s.population, s.density_level,
        s.lon, s.lat, s.epsg
    from statistical_communes as s
    left join actuelles as c on c.vintage = s.vintage and c.code = s.parent
    where s.vintage = '{GEOGRAPHY_VINTAGE}'
"""


def rules_of(vintage: str) -> dict[str, Rule]:
    """TYPEQU → rule for a vintage: the seed's equipment under that vintage's codes, then the others."""
    codes = codes_by_vintage(vintage)
    return {codes[equipment]: rule for equipment, rule in SEED_RULES.items() if equipment in codes} | OTHER_RULES


def plan_query(vintage: str, scale: float) -> str:
    """bpe_plan: how many equipments of each type every place has (n > 0), stations included."""
    rules = ", ".join(
        f"('{typequ}', {rule.per}, {rule.town}, {rule.village}, {rule.until or 'null'})"
        for typequ, rule in rules_of(vintage).items()
    )
    codes = codes_by_vintage(vintage)
    stations = " ".join(f"when '{kind}' then '{codes[equipment]}'" for kind, equipment in STATION_EQUIPMENT.items())
    return f"""
        create or replace temp table bpe_plan as
        with rules(typequ, per, town, village, until) as (values {rules}),
        expected as (
            select
                p.code, r.typequ,
                p.population / r.per * (0.7 + 0.6 * rnd(p.code, 'bpe-size:' || r.typequ))
                    * if(p.population >= r.town, 1, r.village)
                    * case when p.population >= r.until then 0 else 1 end as expected
            from bpe_places as p cross join rules as r
        ),
        drawn as (
            select code, typequ, cast(floor(
                expected * {scale} * {POINTS} / sum(expected) over () + rnd(code, 'bpe-n:{vintage}:' || typequ)
            ) as integer) as n
            from expected
        )
        select code, typequ, n from drawn where n > 0
        union all
        select code, case kind {stations} end, 1 from stations
        order by code, typequ
    """


# One row per equipment point (key: code, typequ, number).
POINTS_QUERY = f"""
    create or replace temp table bpe_points as
    with numbered as (
        select plan.code, plan.typequ, unnest(range(plan.n)) as number
        from bpe_plan as plan
    ),
    drawn as (
        select
            n.*, p.* exclude (code),
            n.code || ':' || n.typequ || ':' || n.number as point,
            rnd(n.code || ':' || n.typequ || ':' || n.number, 'bpe-quality') as q
        from numbered as n join bpe_places as p using (code)
    ),
    placed as (
        select
            *,
            case when q < 0.005 then '{NOT_GEOLOCATED}' when q < 0.04 then 'Mauvaise'
                 when q < 0.15 then 'Acceptable' else 'Bonne' end as quality,
            -- metres around the town hall: wider in towns, farther for a poor location
            least(2000, 350 * sqrt(greatest(1, population / 5000))) * if(q < 0.04, 4, 1) as spread
        from drawn
    ),
    located as (
        select
            *,
            lon + rnd_normal(point, 'bpe-x') * spread / (111320 * cos(radians(lat))) as point_lon,
            lat + rnd_normal(point, 'bpe-y') * spread / 110574 as point_lat
        from placed
    )
    select
        code, city, departement, region, epci, libelle, postal_code, density_level, typequ, number, quality,
        if(quality = '{NOT_GEOLOCATED}', null, epsg) as epsg,
        if(quality = '{NOT_GEOLOCATED}', null, round(proj_x(point_lon, point_lat, epsg), 2)) as x,
        if(quality = '{NOT_GEOLOCATED}', null, round(proj_y(point_lon, point_lat, epsg), 2)) as y,
        if(quality = '{NOT_GEOLOCATED}', null, round(point_lon, 6)) as lon,
        if(quality = '{NOT_GEOLOCATED}', null, round(point_lat, 6)) as lat
    from located
"""
# The points in the files' order (DEPCOM, TYPEQU, number), sorted before the wide select lists.
ORDERED_POINTS = "(select * from bpe_points order by code, typequ, number)"


def columns(header: list[str], filled: dict[str, str]) -> str:
    """A select list in the header's order: the filled columns' SQL, null text for the others."""
    return ", ".join(f'{filled.get(name, "cast(null as varchar)")} as "{name}"' for name in header)


def write_detail_2021(con: duckdb.DuckDBPyConnection, work: Path, path: Path) -> None:
    """bpe21_ensemble_xy_csv.zip: the points as a `;`-separated UTF-8 CSV, 2021 layout."""
    member = work / DETAIL_2021_MEMBER
    filled = {
        "AAV2020": "'000'", "AN": "'2021'", "BV2012": "code", "DEP": "departement", "DEPCOM": "code",
        "DOM": "left(typequ, 1)", "EPCI": "epci", "DCIRIS": "code || '0000'", "LAMBERT_X": "x", "LAMBERT_Y": "y",
        "QP": "'CSZ'", "QUALI_IRIS": "'1'", "QUALI_QP": "'1'", "QUALI_QVA": "'1'", "QUALI_ZFU": "'1'",
        "QUALI_ZUS": "'1'", "QUALITE_XY": "quality", "QVA": "'CSZ'", "REG": "region", "SDOM": "left(typequ, 2)",
        "TYPEQU": "typequ", "UU2020": "departement || '000'", "ZFU": "'CSZ'", "ZUS": "'CSZ'",
    }  # fmt: skip
    con.execute(
        f"""copy (select {columns(HEADER_2021, filled)} from {ORDERED_POINTS})
            to '{member}' (format csv, header, delimiter ';')"""
    )
    zip_members(path, {DETAIL_2021_MEMBER: member})


def write_detail_2024(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """BPE24.parquet: the points in the 2024 columns (coordinates as DOUBLE, the rest text)."""
    partial = path.with_name(f".{path.name}.partial")
    filled = {
        "AN": "'2024'", "CODPOS": "postal_code", "DEPCOM": "code", "DEP": "departement", "REG": "region",
        "LIBCOM": "libelle", "DOM": "left(typequ, 1)", "SDOM": "left(typequ, 2)", "TYPEQU": "typequ",
        "LAMBERT_X": "x", "LAMBERT_Y": "y", "LONGITUDE": "lon", "LATITUDE": "lat", "QUALITE_XY": "quality",
        "EPSG": "cast(epsg as varchar)", "DCIRIS": "code || '0000'", "EPCI": "epci",
        "DENS3": "case when density_level <= 2 then '1' when density_level <= 4 then '2' else '3' end",
        "DENS7": "cast(density_level as varchar)",
    }  # fmt: skip
    con.execute(
        f"""copy (select {columns(HEADER_2024, filled)} from {ORDERED_POINTS})
            to '{partial}' (format parquet, compression zstd)"""
    )
    partial.replace(path)


def write_counts_2024(con: duckdb.DuckDBPyConnection, work: Path, path: Path) -> None:
    """DS_BPE_CSV_FR.zip: counts by commune (the three cities whole), arrondissement and département,
    with a total per domain and an overall total on each, as INSEE stacks them; the members are
    named as the sample's, whose metadata file comes as it is."""
    members: dict[str, Path | bytes] = dict(sample_count_members())
    name = next(member for member in members if member.endswith("_data.csv"))
    members[name] = work / name
    con.execute(
        f"""
        copy (
            with by_type as (
                select p.city, p.code, p.departement, plan.typequ, plan.n
                from bpe_plan as plan join bpe_places as p using (code)
            ),
            detail as (
                select city as geo, 'COM' as geo_object, typequ, sum(n) as n from by_type group by all
                union all
                select code, 'ARM', typequ, n from by_type where code <> city
                union all
                select departement, 'DEP', typequ, sum(n) from by_type group by all
            ),
            stacked as (
                select geo, geo_object, left(typequ, 1) as dom, left(typequ, 2) as sdom, typequ, n from detail
                union all
                select geo, geo_object, left(typequ, 1), '_T', '_T', sum(n) from detail group by all
                union all
                select geo, geo_object, '_T', '_T', '_T', sum(n) from detail group by all
            )
            select {columns(COUNTS_HEADER, COUNT_COLUMNS)}
            from stacked
            order by geo_object, geo, dom, typequ
        ) to '{members[name]}' (format csv, header, delimiter ';')
        """
    )
    zip_members(path, members)


def sample_count_members() -> dict[str, bytes]:
    """The bundled sample's DS_BPE members for no equipment at all: their names, the metadata file."""
    return counts_2024_members(pl.DataFrame(schema={"DEPCOM": pl.Utf8, "TYPEQU": pl.Utf8}), build_territory())
