"""National sample of insee_sirene: the November 2026 establishments stock, about 40 million rows.

One file, StockEtablissement_utf8.parquet, in data.gouv.fr's layout (the 54 columns and
types of :data:`pipelines.sample.insee_sirene.COLUMNS`): scale × 40 million establishments
of the communes of geography 2026, Paris, Lyon and Marseille by arrondissement as in
Sirene, in SIRET order. Each commune holds establishments in proportion to its population
(about 0.6 per inhabitant at scale 1); their addresses are drawn, their coordinates a few
hundred metres around the town hall (Lambert-93, the local projection overseas).

Proportions chosen (scale 1):

* 55 % closed (etatAdministratifEtablissement F, dateDebut the closing day), 45 % active;
* closures spread over Sirene's years since 1976, a few more every year (the closing day is
  1976-01-01 plus u^0.7 of the span, u uniform): about 2.8 % of them in the last twelve months
  (about 620,000 a year nationally, 3.5 % of the active establishments), 14 % in
  the last five years; a closed establishment lived at least a year before, eight on average;
* the activities with their own counts (`KEPT_ACTIVITIES`: the catalogue's `parse: naf_codes`,
  and the village shops of its division 47, `parse: naf_prefixes`), about 3 % of the rows:
  35,000 active cafés (56.30Z, 56.30Y in the NAF 2025 column) spread as population^0.75,
  so that most small villages have none (about 80 % of the communes under 300
  inhabitants, 45 % of those of 300 to 1,000, almost none from 1,000 on; ten in a town of
  10,000), with three closed cafés per active one (about 3,000 closed in the last year, as
  many opened); 150,000 active traditional restaurants, 90,000 fast-food places, 110,000 hairdressers,
  75,000 beauty salons, 25,000 épiceries, 22,000 tobacconists, 8,000 supérettes and 3,000
  cafeterias, with their closed ones;
* the other rows draw among common NAF codes (SCIs, associations, building trades,
  health professions, other shops of division 47: 1.3 million active ones, distance selling
  47.91B the largest…), 55 % of them closed. The reader keeps about 2.2 million rows at
  scale 1: 1.8 million active, 0.35 million closed in the last five years;
* whatever the activity, an establishment closed before 2008 carries a NAF rév. 1 code
  (nomenclature NAFRev1; a café 55.4A), an active one its NAF 2025 code too;
* companies: seven in eight have a single establishment, the eighth three (NIC 00001
  the head office);
* 3 % in partial diffusion (statutDiffusionEtablissement P: address, coordinates and names
  "[ND]", commune kept), 0.2 % abroad (no commune, a foreign country code), 5 % without
  coordinates;
* dateDernierTraitementEtablissement up to 31 October 2026 (the November stock), a fifth
  of them in October.

DuckDB writes the rows straight to the file from a small per-commune plan (how many
establishments of each activity and state), in a bounded memory whatever the scale.
`write_stock` writes a stock of any size (tests/bench_sirene.py uses it).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.sample.insee_sirene import (
    BEAUTY_SALON,
    CAFE,
    COLUMNS,
    FAST_FOOD,
    FILE_NAME,
    GEOGRAPHY_VINTAGE,
    GROCERY,
    HAIRDRESSER,
    HIDDEN,
    HIDDEN_FIELDS,
    NAF_2025,
    OLD_BAR,
    RESTAURANT,
    SOURCE,
    STOCK_END,
    TOBACCO,
    VINTAGE,
)
from pipelines.sample.national.common import bounded_memory, vintage_dir
from pipelines.sample.national.territory import NationalTerritory

STOCK_ROWS = 40_000_000  # establishments at scale 1
CAFETERIA, SUPERETTE = "56.10B", "47.11C"

# NAF rév. 2 codes the catalogue keeps, with counts of their own (every one of `parse: naf_codes`,
# and the village shops among its division 47): (active establishments at scale 1, closed ones per
# active one, exponent of the population that spreads them over the communes).
KEPT_ACTIVITIES = {
    CAFE: (35_000, 3.0, 0.75),
    RESTAURANT: (150_000, 1.5, 1.0),
    CAFETERIA: (3_000, 1.5, 1.0),
    FAST_FOOD: (90_000, 1.2, 1.0),
    HAIRDRESSER: (110_000, 1.5, 0.95),
    BEAUTY_SALON: (75_000, 1.5, 1.0),
    GROCERY: (25_000, 2.0, 0.9),
    SUPERETTE: (8_000, 1.5, 1.0),
    TOBACCO: (22_000, 1.0, 0.9),
}
# NAF 2025 code of each (the catalogue's `parse: naf25_codes`).
KEPT_NAF_2025 = NAF_2025 | {CAFETERIA: "56.11H", SUPERETTE: "47.11H"}
OTHERS_CLOSED = 0.555  # share of closed establishments among the other activities
FIRST_CLOSURE = "1976-01-01"  # closures are spread from here to the end of the stock
CLOSURES_SKEW = 0.7  # exponent of u in the closing day: below 1, a few more closures every year
MEAN_LIFETIME_DAYS = 2_900  # a closed establishment's life beyond its first year (exponential)

# Other activities and their weight among the rest of the stock.
OTHER_ACTIVITIES = {
    "68.20B": 70, "68.20A": 30, "94.99Z": 80, "70.10Z": 30, "70.22Z": 40, "74.90B": 25, "96.09Z": 25,
    "47.91B": 25, "85.59B": 25, "01.11Z": 25, "43.21A": 22, "47.71Z": 20, "86.90D": 18,
    "43.99C": 18, "43.34Z": 16, "93.12Z": 16, "62.01Z": 15, "62.02A": 15, "90.01Z": 15, "85.59A": 15,
    "43.32A": 15, "43.39Z": 14, "45.20A": 14, "49.32Z": 14, "82.99Z": 14, "86.21Z": 12,
    "86.90E": 12, "43.22A": 12, "43.22B": 12, "74.10Z": 12, "55.20Z": 10, "01.50Z": 10, "41.20A": 10,
    "43.31Z": 10, "46.90Z": 10, "47.99B": 10, "64.20Z": 10, "69.20Z": 10, "71.12B": 10, "74.20Z": 10,
    "81.21Z": 10, "81.30Z": 10, "84.11Z": 9, "01.21Z": 8, "01.41Z": 8, "10.71C": 8, "45.11Z": 8,
    "47.78C": 8, "55.10Z": 8, "66.22Z": 8, "69.10Z": 8, "71.11Z": 8, "93.29Z": 8, "96.04Z": 8,
    "86.23Z": 6, "47.19B": 6, "49.41A": 6, "53.20Z": 6, "73.11Z": 6, "93.19Z": 6, "85.20Z": 5,
    "47.73Z": 5, "88.10A": 4, "93.13Z": 4, "02.10Z": 3, "85.10Z": 3, "88.91A": 3, "94.91Z": 3,
    "77.11A": 3, "79.11Z": 3,
}  # fmt: skip
# NAF rév. 1 codes of establishments closed before 2008 (a café: OLD_BAR).
REV1_ACTIVITIES = ("70.2A", "52.4C", "45.2A", "74.1A", "93.0D", "01.1A", "60.2E", "52.1D", "55.3A", "91.3E")

HEADCOUNT_BANDS = {"NN": 55, "00": 12, "01": 10, "02": 8, "03": 6, "11": 4, "12": 3, "21": 1, "22": 1}
STREET_TYPES = ("RUE", "RUE", "RUE", "AV", "BD", "PL", "RTE", "CHE", "ALL", "IMP")
STREETS = (
    "DE LA REPUBLIQUE", "VICTOR HUGO", "DE LA GARE", "DU GENERAL DE GAULLE", "JEAN JAURES", "PASTEUR",
    "DE LA MAIRIE", "DE L EGLISE", "DES ECOLES", "DU MOULIN", "DU STADE", "DES ARTISANS", "DU CHATEAU",
    "DE LA LIBERATION", "NATIONALE", "DU COMMERCE", "DES LILAS", "DE PARIS", "DU 8 MAI 1945", "DES PRES",
)  # fmt: skip
CAFE_SIGNS = ("CAFE DE LA PAIX", "LE SPORTING", "BAR DU MARCHE", "LE PMU", "CAFE DES AMIS", "LE TERMINUS")
RESTAURANT_SIGNS = ("LE BISTROT", "LA BRASSERIE", "L ESCALE", "LE PETIT ZINC", "CHEZ PAUL", "LA FOURCHETTE")
# Establishments abroad: country code, country, city.
ABROAD = (
    ("99131", "BELGIQUE", "BRUXELLES"), ("99109", "ALLEMAGNE", "FRANCFORT"), ("99134", "ESPAGNE", "BARCELONE"),
    ("99127", "ITALIE", "MILAN"), ("99140", "SUISSE", "GENEVE"), ("99137", "LUXEMBOURG", "LUXEMBOURG"),
    ("99132", "ROYAUME-UNI", "LONDRES"), ("99404", "ETATS-UNIS", "NEW YORK"),
)  # fmt: skip

# DuckDB type of each Arrow type of COLUMNS.
SQL_TYPES = {
    "string": "varchar", "date32[day]": "date", "timestamp[us]": "timestamp", "bool": "boolean", "int64": "bigint",
}  # fmt: skip


def write(territory: NationalTerritory, con: duckdb.DuckDBPyConnection, dest: Path) -> list[str]:
    """Write the November 2026 stock: scale × 40 million establishments."""
    folder = vintage_dir(dest, SOURCE, VINTAGE)
    write_stock(con, folder / FILE_NAME, round(STOCK_ROWS * territory.scale))
    return [VINTAGE]


def write_stock(con: duckdb.DuckDBPyConnection, path: Path, rows: int) -> None:
    """Write a stock of about `rows` establishments over the territory's communes (its tables in con).

    One thread writes the rows in the plan's order, so that the bytes are the same on every run:
    DuckDB keeps several threads' output in order only by holding whole batches in memory.
    """
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial")
    with bounded_memory(con, threads="1", preserve_insertion_order="false"):
        con.execute(plan_query(rows))
        con.execute(
            f"copy ({stock_query()}) to '{partial}' (format parquet, compression snappy)",
            {
                "bands": weighted(HEADCOUNT_BANDS),
                "others": weighted(OTHER_ACTIVITIES),
                "rev1": list(REV1_ACTIVITIES),
                "street_types": list(STREET_TYPES),
                "streets": list(STREETS),
                "cafe_signs": list(CAFE_SIGNS),
                "restaurant_signs": list(RESTAURANT_SIGNS),
                "countries": [list(country) for country in ABROAD],
            },
        )
        con.execute("drop table sirene_plan")
    partial.replace(path)


def weighted(weights: dict[str, int]) -> list[str]:
    """Each key repeated by its weight: a list to draw from uniformly."""
    return [key for key, weight in weights.items() for _ in range(weight)]


def plan_query(rows: int) -> str:
    """sirene_plan: per commune and kind (activity, state), how many establishments, where they start.

    The rows of one commune and kind follow each other (rows `first` to `first + n - 1` of the
    stock); the table is sorted so that the stock comes out in SIRET order.
    """
    share = rows / STOCK_ROWS
    kinds = []
    for order, (activity, (active, closed_per_active, exponent)) in enumerate(KEPT_ACTIVITIES.items()):
        kinds.append(f"({2 * order}, '{activity}', 'A', {active * share}, {exponent})")
        kinds.append(f"({2 * order + 1}, '{activity}', 'F', {active * closed_per_active * share}, {exponent})")
    kept = sum(active * (1 + closed) for active, closed, _ in KEPT_ACTIVITIES.values()) * share
    kinds.append(f"({2 * len(KEPT_ACTIVITIES)}, null, null, {max(0.0, rows - kept)}, 1.0)")
    return f"""
        create or replace temp table sirene_plan as
        with places as (
            select
                code, population, postal_code, epsg,
                proj_x(lon, lat, epsg) as x0, proj_y(lon, lat, epsg) as y0,
                -- INSEE's NCC, and 'LYON 3EME' for an arrondissement
                case when type = 'arrondissement-municipal'
                    then {_ncc("regexp_replace(name, ' [0-9]+(er|e) Arrondissement$', '')")} || ' '
                         || cast(cast(right(code, 2) as integer) - if(code like '6938%', 80, 0) as varchar)
                         || if(right(code, 2) in ('01', '81'), 'ER', 'EME')
                    else {_ncc("name")}
                end as label
            from statistical_communes
            where vintage = '{GEOGRAPHY_VINTAGE}'
        ),
        kinds(kind, activity, state, total, exponent) as (values {", ".join(kinds)}),
        weights as (
            select p.*, k.*, pow(p.population, k.exponent) * (0.8 + 0.4 * rnd(p.code, 'sirene-size:' || k.kind)) as w
            from places as p cross join kinds as k
        ),
        counts as (
            select *, cast(floor(total * w / sum(w) over (partition by kind)
                                 + rnd(code, 'sirene-round:' || kind)) as bigint) as n
            from weights
        )
        select *, cast(sum(n) over (order by code, kind rows unbounded preceding) - n as bigint) as first
        from counts
        where n > 0
        order by code, kind
    """


def _ncc(name: str) -> str:
    """SQL of INSEE's NCC form of a name: upper case, no accents, hyphens and apostrophes as spaces."""
    return f"upper(replace(replace(strip_accents({name}), '-', ' '), '''', ' '))"


def stock_query() -> str:
    """The stock's rows, in the official columns and order, from sirene_plan (parameters: lists to draw from)."""
    generated = _column_expressions()
    columns = [
        f'{generated.get(name, f"cast(null as {SQL_TYPES[str(dtype)]})")} as "{name}"' for name, dtype in COLUMNS
    ]
    kept_naf25 = " ".join(f"when '{naf}' then '{naf25}'" for naf, naf25 in KEPT_NAF_2025.items())
    return f"""
        with expanded as (
            select *, first + k as i
            from (select *, unnest(range(n)) as k from sirene_plan)
        ),
        drawn as (
            select
                *,
                i - greatest(0, i % 10 - 7) as company,  -- rows 8 and 9 of every ten: more establishments of row 7's
                1 + greatest(0, i % 10 - 7) as nic_number,
                coalesce(state, if(rnd(i, 'state') < {OTHERS_CLOSED}, 'F', 'A')) as etat,
                coalesce(activity, $others[1 + rnd_int(i, 'activity', len($others))]) as naf,
                rnd(i, 'partial') < 0.03 as partial,
                rnd(i, 'abroad') < 0.002 as abroad,
                rnd(i, 'located') >= 0.05 as located,
                $bands[1 + rnd_int(i, 'band', len($bands))] as band,
                cast(1 + rnd_int(i, 'number', 120) as varchar) as street_number,
                $countries[1 + rnd_int(i, 'country', len($countries))] as country
            from expanded
        ),
        closed as (
            select
                *,
                if(etat = 'F', DATE '{FIRST_CLOSURE}' + cast(floor(pow(rnd(i, 'closed'), {CLOSURES_SKEW})
                    * (DATE '{STOCK_END}' - DATE '{FIRST_CLOSURE}')) as integer), null) as closed_on
            from drawn
        ),
        created as (
            select
                *,
                case
                    -- a closed one lived at least a year before it closed
                    when etat = 'F' then greatest(DATE '1950-01-01', closed_on - 365
                        - cast(floor(-{MEAN_LIFETIME_DAYS} * ln(1 - rnd(i, 'lifetime'))) as integer))
                    -- younger establishments are more numerous
                    else DATE '{STOCK_END}' - 30 - cast(floor(pow(rnd(i, 'created'), 1.6)
                        * (DATE '{STOCK_END}' - 30 - DATE '1975-01-01')) as integer)
                end as created_on,
                30000000 + company as siren_payload
            from closed
        ),
        dated as (
            select
                *,
                case
                    when etat = 'F' then closed_on
                    when rnd(i, 'changed') < 0.6 then created_on
                    else created_on + cast(floor(rnd(i, 'since') * (DATE '{STOCK_END}' - created_on)) as integer)
                end as since,
                siren_payload * 10 + {luhn_key("siren_payload", 8)} as siren_number
            from created
        ),
        described as (
            select
                *,
                etat = 'F' and since < DATE '2008-01-01' as rev1,
                -- processed after its last change, a fifth of them in the last month before the stock
                greatest(
                    since + cast(floor(rnd(i, 'processed') * (DATE '{STOCK_END}' - since + 1)) as integer),
                    if(rnd(i, 'october') < 0.2,
                       DATE '{STOCK_END.replace(day=1)}' + cast(rnd_int(i, 'october-day', {STOCK_END.day}) as integer),
                       DATE '1975-01-01')
                ) as processed_on,
                siren_number * 10000 + nic_number as siret_payload
            from dated
        )
        select {", ".join(columns)}
        from (
            select
                *,
                if(rev1, if(naf = '{CAFE}', '{OLD_BAR}', $rev1[1 + rnd_int(i, 'rev1', len($rev1))]), naf)
                    as activity_code,
                case
                    when rev1 or etat = 'F' then null
                    else case naf {kept_naf25}
                        else left(naf, 5) || translate(right(naf, 1), 'ZABCDEF', 'YGHJKLM') end
                end as naf25,
                {luhn_key("siret_payload", 13)} as siret_key,
                {_projected("x")} as x,
                {_projected("y")} as y
            from described
        )
    """


def _projected(axis: str) -> str:
    """Coordinates around the town hall (x0, y0): wider in larger towns, in metres, one decimal."""
    spread = "least(2500, 300 * sqrt(greatest(1, population / 3000)))"
    return f"cast({axis}0 + rnd_normal(i, 'sirene-{axis}') * {spread} as decimal(10, 1))"


def _column_expressions() -> dict[str, str]:
    """SQL of every column the stock fills (the others are null), over the rows drawn in stock_query;
    a person in partial diffusion has "[ND]" in the fields of HIDDEN_FIELDS."""
    columns = {
        "siren": "cast(siren_number as varchar)",
        "nic": "lpad(cast(nic_number as varchar), 4, '0') || cast(siret_key as varchar)",
        "siret": "cast(siret_payload as varchar) || cast(siret_key as varchar)",
        "statutDiffusionEtablissement": "if(partial, 'P', 'O')",
        "dateCreationEtablissement": "created_on",
        "trancheEffectifsEtablissement": "band",
        "anneeEffectifsEtablissement": "if(band = 'NN', null, cast(2023 as bigint))",
        "dateDernierTraitementEtablissement": (
            "cast(processed_on as timestamp) + to_seconds(rnd_int(i, 'second', 86400))"
        ),
        "etablissementSiege": "nic_number = 1",
        "nombrePeriodesEtablissement": "cast(1 + (since <> created_on)::integer + (etat = 'F')::integer as bigint)",
        "complementAdresseEtablissement": "null",
        "numeroVoieEtablissement": "street_number",
        "indiceRepetitionEtablissement": "if(rnd(i, 'repeat') < 0.02, 'B', null)",
        "typeVoieEtablissement": "$street_types[1 + rnd_int(i, 'street-type', len($street_types))]",
        "libelleVoieEtablissement": "$streets[1 + rnd_int(i, 'street', len($streets))]",
        "codePostalEtablissement": "if(abroad, null, postal_code)",
        "libelleCommuneEtablissement": "if(abroad, null, label)",
        "libelleCommuneEtrangerEtablissement": "if(abroad, country[3], null)",
        "codeCommuneEtablissement": "if(abroad, null, code)",
        "codePaysEtrangerEtablissement": "if(abroad, country[1], null)",
        "libellePaysEtrangerEtablissement": "if(abroad, country[2], null)",
        "identifiantAdresseEtablissement": (
            "if(abroad, null, code || '_' || lpad(cast(1 + rnd_int(i, 'way', 9999) as varchar), 4, '0')"
            " || '_' || lpad(street_number, 5, '0'))"
        ),
        "coordonneeLambertAbscisseEtablissement": "if(located and not abroad, cast(x as varchar), null)",
        "coordonneeLambertOrdonneeEtablissement": "if(located and not abroad, cast(y as varchar), null)",
        "dateDebut": "since",
        "etatAdministratifEtablissement": "etat",
        "enseigne1Etablissement": f"""case
            when naf = '{CAFE}' then $cafe_signs[1 + rnd_int(i, 'sign', len($cafe_signs))]
            when naf in ('{RESTAURANT}', '{CAFETERIA}', '{FAST_FOOD}') and rnd(i, 'signed') < 0.8
                then $restaurant_signs[1 + rnd_int(i, 'sign', len($restaurant_signs))]
        end""",
        "denominationUsuelleEtablissement": "if(rnd(i, 'named') < 0.1, label || ' SERVICES', null)",
        "activitePrincipaleEtablissement": "activity_code",
        "nomenclatureActivitePrincipaleEtablissement": "if(rev1, 'NAFRev1', 'NAFRev2')",
        "caractereEmployeurEtablissement": "if(band in ('NN', '00'), 'N', 'O')",
        "activitePrincipaleNAF25Etablissement": "naf25",
    }
    return {name: f"if(partial, '{HIDDEN}', {sql})" if name in HIDDEN_FIELDS else sql for name, sql in columns.items()}


def luhn_key(number: str, digits: int) -> str:
    """SQL of the digit that completes a number of `digits` digits so that it passes the Luhn check
    (SIREN and SIRET do): every other digit from the right doubled, the sum a multiple of 10."""
    terms = []
    for position in range(digits):
        digit = f"({number} // {10**position} % 10)"
        terms.append(f"(2 * {digit} - 9 * ({digit} >= 5)::integer)" if position % 2 == 0 else digit)
    return f"((10 - ({' + '.join(terms)}) % 10) % 10)"
