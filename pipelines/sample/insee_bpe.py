"""Sample of insee_bpe: the BPE detail file for 2021 (CSV in a zip) and 2024 (Parquet), and
the 2024 counts per commune (DS_BPE, with the totals and other levels INSEE stacks in it).

Equipment points sit a few hundred metres from their commune's town hall, projected as INSEE
does (Lambert-93, UTM 40S in La Réunion); Lyon's equipment is placed in its arrondissements,
as in the real files. The codes of each vintage come from the dated mapping of the dbt seed
bpe_equipment_types (GP D201 in 2021, D265 in 2024; types whose recent code is not known are
not written in 2024). The story the tests read:

* villages under 900 inhabitants have no GP; some communes have a GP but no pharmacy;
* the smallest commune with a single GP in 2021 has lost it in 2024;
* EHPAD (2021) in the larger towns and in a few small ones; a national station in the
  prefecture of Saône-et-Loire and two in Lyon, regional stations in towns, a few local
  ones, none in La Réunion (no railway);
* one restaurant has no coordinates (QUALITE_XY 'Non géolocalisé').
"""

from __future__ import annotations

import io
import random
import zipfile
from pathlib import Path

import duckdb
import polars as pl

from pipelines.sample.territory import ARRONDISSEMENT_MUNICIPAL, Commune, Territory
from pipelines.settings import DBT_PROJECT_DIR
from pipelines.sources.readers.insee_bpe import epsg_of

SOURCE = "insee_bpe"
VINTAGES = ("2021", "2024")
GEOGRAPHY_VINTAGE = "2025"  # the sample's communes: the territory's oldest geography
EQUIPMENT_TYPES = DBT_PROJECT_DIR / "seeds" / "bpe_equipment_types.csv"
DETAIL_2021 = "bpe21_ensemble_xy_csv.zip"
DETAIL_2024 = "BPE24.parquet"
COUNTS_2024 = "DS_BPE_CSV_FR.zip"
NOT_GEOLOCATED = "Non géolocalisé"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed member dates keep the zip bytes identical

HEADER_2021 = [
    "AAV2020", "AN", "BV2012", "DEP", "DEPCOM", "DOM", "EPCI", "DCIRIS", "LAMBERT_X", "LAMBERT_Y", "QP",
    "QUALI_IRIS", "QUALI_QP", "QUALI_QVA", "QUALI_ZFU", "QUALI_ZUS", "QUALITE_XY", "QVA", "REG", "SDOM",
    "TYPEQU", "UU2020", "ZFU", "ZUS",
]  # fmt: skip
HEADER_2024 = [
    "AN", "NOMRS", "CNOMRS", "NUMVOIE", "INDREP", "TYPVOIE", "LIBVOIE", "CADR", "CODPOS", "DEPCOM", "DEP",
    "REG", "LIBCOM", "DOM", "SDOM", "TYPEQU", "SIRET", "STATUT_DIFFUSION", "CANTINE", "INTERNAT", "RPI",
    "EP", "CL_PGE", "SECT", "ACCES_AIRE_PRATIQUE", "ACCES_LIBRE", "ACCES_SANITAIRE", "ACCES_VESTIAIRE",
    "CAPACITE_D_ACCUEIL", "PRES_DOUCHE", "PRES_SANITAIRE", "SAISONNIER", "COUVERT", "ECLAIRE", "CATEGORIE",
    "MULTIPLEXE", "STRUCTURE_EXERCICE", "SPECIALITE", "ACCUEIL", "ITINERANCE", "MODE_GESTION", "SSTYPHEB",
    "TYPE", "IMPLANTATION_STATION", "CAPACITE", "INDIC_CAPA", "NBEQUIDENT", "INDIC_NBEQUIDENT", "NBSALLES",
    "INDIC_NBSALLES", "NBLIEUX", "INDIC_NBLIEUX", "NB_PDC", "INDIC_NB_PDC", "NB_PDC_PA", "INDIC_NB_PDC_PA",
    "NB_PDC_ACCELEREE", "INDIC_NB_PDC_ACCELEREE", "NB_PDC_LENTE", "INDIC_NB_PDC_LENTE", "NB_PDC_RAPIDE",
    "INDIC_NB_PDC_RAPIDE", "NB_PDC_ULTRARAPIDE", "INDIC_NB_PDC_ULTRARAPIDE", "NB_JOURS_OUVERT",
    "INDIC_NB_JOURS_OUVERT", "LAMBERT_X", "LAMBERT_Y", "LONGITUDE", "LATITUDE", "QUALITE_XY", "EPSG",
    "QUALITE_GEOLOC", "TR_DIST_PRECISION", "DCIRIS", "QUALI_IRIS", "IRISEE", "QP2024", "QUALI_QP2024", "QVA",
    "QUALI_QVA", "ZUS", "QUALI_ZUS", "EPCI", "UU2020", "BV2022", "AAV2020", "DENS3", "DENS7",
]  # fmt: skip
COUNTS_HEADER = [
    "GEO", "GEO_OBJECT", "FACILITY_DOM", "FACILITY_SDOM", "FACILITY_TYPE", "BPE_MEASURE", "UNIT_MEASURE",
    "OBS_STATUS", "UNIT_MULT", "TIME_PERIOD", "OBS_VALUE",
]  # fmt: skip


def write(territory: Territory, dest: Path) -> list[str]:
    """Write the 2021 and 2024 files under <dest>/insee_bpe/<vintage>/."""
    root = Path(dest) / SOURCE
    detail_2021 = project(equipment_plan(territory, "2021"))
    folder = root / "2021"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / DETAIL_2021).write_bytes(zip_bytes({"bpe21_ensemble_xy.csv": detail_2021_csv(detail_2021, territory)}))

    detail_2024 = project(equipment_plan(territory, "2024"))
    folder = root / "2024"
    folder.mkdir(parents=True, exist_ok=True)
    detail_2024_frame(detail_2024, territory).write_parquet(folder / DETAIL_2024, compression="zstd")
    (folder / COUNTS_2024).write_bytes(zip_bytes(counts_2024_members(detail_2024, territory)))
    return list(VINTAGES)


# --------------------------------------------------------------------------------------------
# What each commune has
# --------------------------------------------------------------------------------------------


def sample_places(territory: Territory) -> list[Commune]:
    """Communes and arrondissements that hold equipment: Lyon through its arrondissements."""
    geography = territory.geography(GEOGRAPHY_VINTAGE)
    cities = {c.parent for c in geography.communes if c.type == ARRONDISSEMENT_MUNICIPAL}
    arrondissements = [c for c in geography.communes if c.type == ARRONDISSEMENT_MUNICIPAL]
    return sorted([c for c in geography.actuelles if c.code not in cities] + arrondissements, key=lambda c: c.code)


def codes_by_vintage(vintage: str) -> dict[str, str]:
    """equipment → the TYPEQU the sample writes for it in that vintage (first valid row of the seed)."""
    types = pl.read_csv(EQUIPMENT_TYPES, infer_schema=False)
    year = int(vintage)
    valid = types.filter(
        (pl.col("first_vintage").is_null() | (pl.col("first_vintage").cast(pl.Int32) <= year))
        & (pl.col("last_vintage").is_null() | (pl.col("last_vintage").cast(pl.Int32) >= year))
    )
    return dict(valid.unique("equipment", keep="first", maintain_order=True).select("equipment", "typequ").iter_rows())


def equipment_counts(place: Commune, seed: int) -> dict[str, int]:
    """How many of each equipment a commune has in 2021, from its population and a seeded draw."""
    rng = random.Random(f"{seed}-{SOURCE}-{place.code}")
    p = place.population or 0
    f = rng.uniform(0.7, 1.3)
    draw = [rng.random() for _ in range(6)]

    def per(size: float, minimum: int = 1) -> int:
        return max(minimum, round(p / size * f))

    return {
        "gp": per(1300) if p >= 900 else 0,
        "pharmacy": per(3800) if p >= 2500 else int(p >= 900 and draw[0] < 0.55),
        "post_office": 1 + p // 15000 if p >= 2000 else 0,
        "post_agency": int(700 <= p < 2000),
        "post_relay": int(300 <= p < 700 and draw[1] < 0.4),
        "bank": per(5000) if p >= 1500 else 0,
        "restaurant": per(450, 0) if p >= 150 else 0,
        "grocery": int(200 <= p < 3000 and draw[2] < 0.6),
        "convenience_store": per(7000) if p >= 3000 else 0,
        "bakery": per(2000) if p >= 400 else 0,
        "butcher": per(6000) if p >= 1500 else 0,
        "supermarket": per(9000) if p >= 3500 else 0,
        "hypermarket": 1 + p // 60000 if p >= 20000 else 0,
        "school_nursery": per(2500) if p >= 600 else 0,
        "school_primary": per(1500) if p >= 150 else 0,
        "nursery": per(6000) if p >= 3000 else 0,
        "ehpad": per(8000) if p >= 8000 else int(p >= 1200 and draw[3] < 0.35),
        "france_services": int(1500 <= p < 6000 and draw[4] < 0.25),
        "train_station_local": int(place.departement != "974" and 1200 <= p < 8000 and draw[5] < 0.3),
        "train_station_regional": int(place.departement != "974" and p >= 8000),
    }


def story_counts(territory: Territory, vintage: str) -> dict[str, dict[str, int]]:
    """commune code → equipment → count in a vintage, with the story's fixed points applied."""
    places = sample_places(territory)
    counts = {p.code: equipment_counts(p, territory.seed) for p in places}
    band = [p for p in places if 900 <= (p.population or 0) < 2500 and counts[p.code]["gp"]]
    if band:  # a commune with a GP but no pharmacy
        counts[band[0].code]["pharmacy"] = 0
    small_towns = [p for p in places if 1200 <= (p.population or 0) < 5000]
    if small_towns:  # an EHPAD in a small town
        counts[small_towns[0].code]["ehpad"] = 1
    # National stations: the prefecture of Saône-et-Loire and two arrondissements of Lyon.
    for code in ("71270", "69382", "69383"):
        if code in counts:
            counts[code]["train_station_national"] = 1
            counts[code]["train_station_regional"] = 0
    if vintage >= "2023":
        counts[lost_gp_commune(territory)]["gp"] = 0
    return counts


def lost_gp_commune(territory: Territory) -> str:
    """The smallest commune with a single GP in 2021: it has none in 2024."""
    places = sample_places(territory)
    single = [p for p in places if equipment_counts(p, territory.seed)["gp"] == 1]
    return min(single, key=lambda p: (p.population or 0, p.code)).code


def not_geolocated_commune(territory: Territory) -> str:
    """The commune whose first restaurant has no coordinates: the largest of Saône-et-Loire."""
    places = [p for p in sample_places(territory) if p.departement == "71"]
    return max(places, key=lambda p: (p.population or 0, p.code)).code


def equipment_plan(territory: Territory, vintage: str) -> pl.DataFrame:
    """One row per equipment of a vintage: DEPCOM, TYPEQU, equipment, lon, lat, QUALITE_XY."""
    codes = codes_by_vintage(vintage)
    unlocated = not_geolocated_commune(territory)
    story = story_counts(territory, vintage)
    rows = []
    for place in sample_places(territory):
        rng = random.Random(f"{territory.seed}-{SOURCE}-{vintage}-{place.code}-points")
        for equipment, count in story[place.code].items():
            if equipment not in codes:
                continue  # no known code for it in this vintage
            for number in range(count):
                located = not (place.code == unlocated and equipment == "restaurant" and number == 0)
                quality = rng.choices(["Bonne", "Acceptable", "Mauvaise"], weights=[85, 12, 3])[0]
                rows.append({
                    "DEPCOM": place.code, "TYPEQU": codes[equipment], "equipment": equipment,
                    "lon": place.lon + rng.gauss(0, 0.004) if located else None,
                    "lat": place.lat + rng.gauss(0, 0.003) if located else None,
                    "QUALITE_XY": quality if located else NOT_GEOLOCATED,
                })  # fmt: skip
    schema = {
        "DEPCOM": pl.Utf8, "TYPEQU": pl.Utf8, "equipment": pl.Utf8, "lon": pl.Float64, "lat": pl.Float64,
        "QUALITE_XY": pl.Utf8,
    }  # fmt: skip
    return pl.DataFrame(rows, schema=schema).sort("DEPCOM", "TYPEQU", "lon", nulls_last=True)


def project(plan: pl.DataFrame) -> pl.DataFrame:
    """Add EPSG and the projected X/Y (metres, 2 decimals) of every located equipment."""
    plan = plan.with_columns(epsg_of(pl.col("DEPCOM")).alias("EPSG"))
    con = duckdb.connect()
    con.execute("load spatial")
    projected = con.execute(
        """
        select * exclude (point), round(st_x(point), 2) as x, round(st_y(point), 2) as y
        from (
            select *, st_transform(st_point(lon, lat), 'EPSG:4326', 'EPSG:' || EPSG, always_xy := true) as point
            from plan
        )
        """
    ).pl()
    con.close()
    return projected.sort("DEPCOM", "TYPEQU", "lon", nulls_last=True)


# --------------------------------------------------------------------------------------------
# The files
# --------------------------------------------------------------------------------------------


def _commune_facts(territory: Territory) -> dict[str, dict[str, str]]:
    """Per code: département, région, EPCI, name and postal code (arrondissements take their city's EPCI)."""
    geography = territory.geography(GEOGRAPHY_VINTAGE)
    epci = {c.code: c.epci for c in geography.actuelles}
    return {
        p.code: {
            "DEP": p.departement, "REG": p.region, "EPCI": p.epci or epci.get(p.parent or "", "") or "",
            "LIBCOM": p.libelle, "CODPOS": p.postal_codes[0] if p.postal_codes else "",
        }
        for p in sample_places(territory)
    }  # fmt: skip


def detail_2021_csv(detail: pl.DataFrame, territory: Territory) -> bytes:
    """bpe21_ensemble_xy.csv: `;`-separated UTF-8, one row per equipment."""
    located = pl.col("x").is_not_null()
    frame = detail.join(_facts_frame(territory), on="DEPCOM", how="left").select(
        pl.lit("000").alias("AAV2020"),
        pl.lit("2021").alias("AN"),
        pl.col("DEPCOM").alias("BV2012"),
        "DEP", "DEPCOM",
        pl.col("TYPEQU").str.slice(0, 1).alias("DOM"),
        "EPCI",
        (pl.col("DEPCOM") + "0000").alias("DCIRIS"),
        pl.when(located).then(pl.col("x").round(2).cast(pl.Utf8)).alias("LAMBERT_X"),
        pl.when(located).then(pl.col("y").round(2).cast(pl.Utf8)).alias("LAMBERT_Y"),
        pl.lit("CSZ").alias("QP"),
        *[pl.lit("1").alias(c) for c in ("QUALI_IRIS", "QUALI_QP", "QUALI_QVA", "QUALI_ZFU", "QUALI_ZUS")],
        "QUALITE_XY",
        pl.lit("CSZ").alias("QVA"),
        "REG",
        pl.col("TYPEQU").str.slice(0, 2).alias("SDOM"),
        "TYPEQU",
        (pl.col("DEP") + "000").alias("UU2020"),
        pl.lit("CSZ").alias("ZFU"),
        pl.lit("CSZ").alias("ZUS"),
    )  # fmt: skip
    return frame.select(HEADER_2021).write_csv(separator=";", line_terminator="\n").encode("utf-8")


def _facts_frame(territory: Territory) -> pl.DataFrame:
    return pl.DataFrame(
        [{"DEPCOM": code, **fact} for code, fact in _commune_facts(territory).items()],
        schema={c: pl.Utf8 for c in ("DEPCOM", "DEP", "REG", "EPCI", "LIBCOM", "CODPOS")},
    )


def detail_2024_frame(detail: pl.DataFrame, territory: Territory) -> pl.DataFrame:
    """BPE24.parquet: every column of the official file, the ones the sample knows filled in."""
    known = detail.join(_facts_frame(territory), on="DEPCOM", how="left").select(
        pl.lit("2024").alias("AN"),
        "CODPOS", "DEPCOM", "DEP", "REG", "LIBCOM",
        pl.col("TYPEQU").str.slice(0, 1).alias("DOM"),
        pl.col("TYPEQU").str.slice(0, 2).alias("SDOM"),
        "TYPEQU",
        pl.col("x").alias("LAMBERT_X"),
        pl.col("y").alias("LAMBERT_Y"),
        pl.col("lon").round(6).alias("LONGITUDE"),
        pl.col("lat").round(6).alias("LATITUDE"),
        "QUALITE_XY",
        pl.when(pl.col("x").is_not_null()).then(pl.col("EPSG").cast(pl.Utf8)).alias("EPSG"),
        (pl.col("DEPCOM") + "0000").alias("DCIRIS"),
        "EPCI",
    )  # fmt: skip
    numeric = {"LAMBERT_X", "LAMBERT_Y", "LONGITUDE", "LATITUDE"}
    return known.select(
        [
            pl.col(c) if c in known.columns else pl.lit(None, pl.Float64 if c in numeric else pl.Utf8).alias(c)
            for c in HEADER_2024
        ]
    )


def counts_2024_members(detail: pl.DataFrame, territory: Territory) -> dict[str, bytes]:
    """DS_BPE files: counts by commune, arrondissement and département, with INSEE's total rows."""
    city_of = {p.code: p.parent for p in sample_places(territory) if p.type == ARRONDISSEMENT_MUNICIPAL}
    by_type = detail.group_by("DEPCOM", "TYPEQU").len("n")
    communes = by_type.with_columns(
        pl.col("DEPCOM").replace(city_of).alias("GEO"), pl.lit("COM").alias("GEO_OBJECT")
    ).group_by("GEO", "GEO_OBJECT", "TYPEQU").agg(pl.col("n").sum())
    arrondissements = by_type.filter(pl.col("DEPCOM").is_in(list(city_of))).select(
        pl.col("DEPCOM").alias("GEO"), pl.lit("ARM").alias("GEO_OBJECT"), "TYPEQU", "n"
    )
    departements = (
        communes.with_columns(
            pl.when(pl.col("GEO").str.starts_with("97"))
            .then(pl.col("GEO").str.slice(0, 3))
            .otherwise(pl.col("GEO").str.slice(0, 2))
        )
        .group_by("GEO", "TYPEQU")
        .agg(pl.col("n").sum())
        .with_columns(pl.lit("DEP").alias("GEO_OBJECT"))
    )
    detail_rows = pl.concat([communes, arrondissements, departements.select(communes.columns)]).with_columns(
        pl.col("TYPEQU").str.slice(0, 1).alias("FACILITY_DOM"), pl.col("TYPEQU").str.slice(0, 2).alias("FACILITY_SDOM")
    )
    # INSEE stacks a total per domain and an overall total on each area.
    domain_totals = detail_rows.group_by("GEO", "GEO_OBJECT", "FACILITY_DOM").agg(pl.col("n").sum())
    domain_totals = domain_totals.with_columns(pl.lit("_T").alias("FACILITY_SDOM"), pl.lit("_T").alias("TYPEQU"))
    totals = detail_rows.group_by("GEO", "GEO_OBJECT").agg(pl.col("n").sum())
    totals = totals.with_columns(pl.lit("_T").alias(c) for c in ("FACILITY_DOM", "FACILITY_SDOM", "TYPEQU"))
    columns = ["GEO", "GEO_OBJECT", "FACILITY_DOM", "FACILITY_SDOM", "TYPEQU", "n"]
    rows = pl.concat([detail_rows.select(columns), domain_totals.select(columns), totals.select(columns)])
    data = rows.sort("GEO_OBJECT", "GEO", "FACILITY_DOM", "TYPEQU").with_columns(
        pl.col("TYPEQU").alias("FACILITY_TYPE"),
        pl.lit("FACILITIES").alias("BPE_MEASURE"),
        pl.lit("NB").alias("UNIT_MEASURE"),
        pl.lit("A").alias("OBS_STATUS"),
        pl.lit("0").alias("UNIT_MULT"),
        pl.lit("2024").alias("TIME_PERIOD"),
        pl.col("n").cast(pl.Utf8).alias("OBS_VALUE"),
    )
    metadata = (
        "COD_VAR;LIB_VAR;COD_MOD;LIB_MOD\n"
        "GEO_OBJECT;Niveau géographique;COM;Commune\n"
        "GEO_OBJECT;Niveau géographique;ARM;Arrondissement municipal\n"
        "GEO_OBJECT;Niveau géographique;DEP;Département\n"
        "FACILITY_TYPE;Type d'équipement;_T;Total\n"
    )
    return {
        "DS_BPE_2024_data.csv": data.select(COUNTS_HEADER).write_csv(separator=";").encode("utf-8"),
        "DS_BPE_2024_metadata.csv": metadata.encode("utf-8"),
    }


def zip_bytes(members: dict[str, bytes]) -> bytes:
    """A zip of the members, with fixed dates so the bytes never change."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()
