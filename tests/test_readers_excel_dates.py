"""Commune codes typed as dates in a workbook: refused, not loaded as their serial numbers.

DuckDB's read_xlsx hands a date cell over as its serial number (2001-01-02 as '36893'),
which looks like a commune code. The readers of workbooks holding commune codes look at
the cells' styles and refuse such a column, naming it and a row.
"""

from __future__ import annotations

import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

from pipelines.sources.readers import ParseError
from pipelines.sources.readers.anct_frr import read as read_frr
from pipelines.sources.readers.common import xlsx_date_cells
from pipelines.sources.readers.drees_apl import read as read_apl
from pipelines.sources.readers.insee_density_grid import read as read_density

APL_CODE = "Code commune INSEE"
APL_HEADER = [APL_CODE, "Commune", "APL aux médecins généralistes", "APL aux médecins généralistes de 65 ans ou moins",
              "Population standardisée 2021 pour la médecine générale", "Population totale 2021"]  # fmt: skip
APL_UNITS = [None, None, "Consultations/an/habitant", "Consultations/an/habitant", "Habitants standardisés", "Habitants"]
APL_FIRST_ROW = 11  # titles in rows 1–8, header in row 9, units in row 10
REAL_APL = Path("apl") / "apl_generalistes.xlsx"
REAL_DENSITY = Path("densite") / "grille_densite_7_niveaux_2022.xlsx"


def apl_workbook(path: Path, codes: list, number_format: str | None = None) -> Path:
    """A workbook in the APL layout whose 'APL 2023' sheet lists the given codes (of any type)."""
    book = Workbook()
    book.active.title = "Paramètres"
    book.active.append(["Année", 2023])
    sheet = book.create_sheet("APL 2023")
    sheet.append(["Indicateur d'accessibilité potentielle localisée (APL) 2023"])
    sheet.append(["Mise à jour le", datetime(2024, 12, 1)])  # a date above the header, which is no code
    for _ in range(6):
        sheet.append(["Note"])
    sheet.append(APL_HEADER)
    sheet.append(APL_UNITS)
    for number, code in enumerate(codes):
        sheet.append([code, f"Commune {number}", 3.5, 3.1, 1000.5, 1000])
        if number_format is not None:
            sheet.cell(sheet.max_row, 1).number_format = number_format
    book.save(path)
    return path


def column_workbook(path: Path, cells: list[tuple[object, str | None]], *, iso_dates: bool = False) -> Path:
    """A one-sheet workbook ('Feuil1') with a header in A1 and the cells (value, number format) under it."""
    book = Workbook(iso_dates=iso_dates)
    sheet = book.active
    sheet.title = "Feuil1"
    sheet.append(["CODE", "AUTRE"])
    for value, number_format in cells:
        sheet.append([value, datetime(2001, 1, 2)])  # a date beside, in another column
        if number_format is not None:
            sheet.cell(sheet.max_row, 1).number_format = number_format
    book.save(path)
    return path


# ---------------------------------------------------------------- the APL reader


def test_a_code_typed_as_a_date_is_refused_naming_the_column_and_the_row(tmp_path):
    path = apl_workbook(tmp_path / "apl.xlsx", ["01001", "01002", datetime(2001, 1, 2), "01004"])
    with pytest.raises(ParseError) as refused:
        read_apl([path], "2023")
    message = str(refused.value)
    assert f"column {APL_CODE} holds dates" in message
    assert f"row {APL_FIRST_ROW + 2}: serial 36893" in message
    assert "in 1 row " in message and "apl.xlsx" in message and "use the original file" in message


def test_every_date_is_counted(tmp_path):
    codes = [datetime(2001, 1, day) for day in range(1, 6)] + ["01006"]
    path = apl_workbook(tmp_path / "apl.xlsx", codes, number_format="dd/mm/yyyy")
    with pytest.raises(ParseError, match=rf"in 5 rows \(e\.g\. row {APL_FIRST_ROW}: serial 36892\)"):
        read_apl([path], "2023")


def test_numbers_as_codes_are_left_to_validation(tmp_path):
    path = apl_workbook(tmp_path / "apl.xlsx", ["01001", 1002, 1004])
    frame, _ = read_apl([path], "2023")["communes"]
    assert frame[APL_CODE].to_list() == ["01001", "1002", "1004"]


@pytest.mark.parametrize("number_format", ["0", "00000", "#,##0", "@", "General"])
def test_a_number_format_that_is_no_date_is_not_refused(tmp_path, number_format):
    path = apl_workbook(tmp_path / "apl.xlsx", [1001, 1002, 2004], number_format=number_format)
    frame, _ = read_apl([path], "2023")["communes"]
    assert frame[APL_CODE].to_list() == ["1001", "1002", "2004"]


# ---------------------------------------------------------------- the other readers of workbooks


def test_frr_workbook_with_codes_as_dates_is_refused(tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.title = "Liste FRR"
    sheet.append(["Liste des communes classées en FRR"])
    sheet.append(["Code_insee", "Departement", "Commune", "Classement FRR et FRR+ au 10 juillet 2025"])
    sheet.append(["01001", "01", "L'Abergement-Clémenciat", "FRR"])
    sheet.append([datetime(2001, 1, 2), "01", "L'Abergement-de-Varey", "FRR+"])
    path = tmp_path / "liste-frr.xlsx"
    book.save(path)
    with pytest.raises(ParseError, match=r"column Code_insee holds dates, not codes, in 1 row \(e\.g\. row 4: serial 36893\)"):
        read_frr([path], "2025")


def test_density_workbook_with_codes_as_dates_is_refused(tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.title = "Grille_Densite"
    for title in ("Grille de densité", "France – Niveau de densité des communes", "Géographie au 01/01/2022"):
        sheet.append([title])
    sheet.append([])  # an empty row: the row numbers still follow the sheet's
    sheet.append(["CODGEO", "LIBGEO", "DENS", "LIBDENS", "PMUN19"])
    sheet.append(["01001", "L'Abergement-Clémenciat", 6, "Rural à habitat dispersé", 776])
    sheet.append([datetime(2001, 1, 2), "L'Abergement-de-Varey", 6, "Rural à habitat dispersé", 248])
    path = tmp_path / "grille_densite_7_niveaux_2022.xlsx"
    book.save(path)
    with pytest.raises(ParseError, match=r"column CODGEO holds dates, not codes, in 1 row \(e\.g\. row 7: serial 36893\)"):
        read_density([path], "2022")


# ---------------------------------------------------------------- finding date cells


@pytest.mark.parametrize(
    "number_format, is_date",
    [
        ("dd/mm/yyyy", True),
        ("mm-dd-yy", True),  # built-in format 14
        ("d mmmm yyyy", True),
        ("[$-40C]d mmmm yyyy", True),
        ("[h]:mm:ss", True),
        ("hh:mm", True),
        ("0", False),
        ("00000", False),
        ("#,##0", False),
        ("0.00E+00", False),
        ("[Red]0;[Blue]-0", False),
        ('0" jours"', False),
        ("0\\h", False),
        ("_-* #,##0_-;\\-* #,##0_-", False),
    ],
)
def test_date_formats_are_told_from_number_formats(tmp_path, number_format, is_date):
    path = column_workbook(tmp_path / "book.xlsx", [("01001", None), (36893, number_format)])
    found = xlsx_date_cells(path, "Feuil1", "A", 2, "book")
    assert found == ([(3, "36893")] if is_date else [])


def test_only_the_column_from_the_first_row_is_looked_at(tmp_path):
    path = column_workbook(tmp_path / "book.xlsx", [(datetime(2001, 1, 1), None), ("01002", None), (datetime(2001, 1, 3), None)])
    assert xlsx_date_cells(path, "Feuil1", "A", 2, "book") == [(2, "36892"), (4, "36894")]
    assert xlsx_date_cells(path, "Feuil1", "A", 3, "book") == [(4, "36894")]
    assert xlsx_date_cells(path, "Feuil1", "B", 2, "book") == [(2, "36893"), (3, "36893"), (4, "36893")]


def test_cells_typed_as_dates_are_found(tmp_path):
    path = column_workbook(tmp_path / "book.xlsx", [("01001", None), (datetime(2001, 1, 2), None)], iso_dates=True)
    assert [row for row, _ in xlsx_date_cells(path, "Feuil1", "A", 2, "book")] == [3]


def test_a_workbook_without_date_format_is_not_parsed(tmp_path):
    path = column_workbook(tmp_path / "book.xlsx", [("01001", None), (1002, "0")])
    assert xlsx_date_cells(path, "Feuil1", "A", 2, "book") == []


def test_a_damaged_workbook_is_a_parse_error_naming_it(tmp_path):
    not_a_zip = tmp_path / "plain.xlsx"
    not_a_zip.write_text("CODE;AUTRE\n01001;x\n")
    with pytest.raises(ParseError, match=r"^the book: not an Excel \.xlsx workbook"):
        xlsx_date_cells(not_a_zip, "Feuil1", "A", 2, "the book")

    whole = column_workbook(tmp_path / "book.xlsx", [("01001", None)])
    without_sheet = tmp_path / "without_sheet.xlsx"
    with zipfile.ZipFile(whole) as source, zipfile.ZipFile(without_sheet, "w") as target:
        for info in source.infolist():
            if not info.filename.startswith("xl/worksheets/"):
                target.writestr(info, source.read(info))
    with pytest.raises(ParseError, match=r"^the book: the part of sheet 'Feuil1' .* is missing"):
        xlsx_date_cells(without_sheet, "Feuil1", "A", 2, "the book")
    with pytest.raises(ParseError, match=r"^the book: the workbook has no sheet 'Autre'"):
        xlsx_date_cells(whole, "Autre", "A", 2, "the book")


# ---------------------------------------------------------------- the real workbooks


@pytest.mark.real_data
@pytest.mark.parametrize("vintage", ["2022", "2023"])
def test_real_apl_workbook_is_not_refused(real_data, vintage):
    path = real_data / REAL_APL
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    assert xlsx_date_cells(path, f"APL {vintage}", "A", 10, "real APL") == []
    frame, _ = read_apl([path], vintage)["communes"]
    assert frame.height > 30_000


@pytest.mark.real_data
def test_real_density_workbook_is_not_refused(real_data):
    path = real_data / REAL_DENSITY
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    frame, _ = read_density([path], "2022")["communes"]
    assert frame.height > 30_000
    assert frame["CODGEO"][0] == "01001"
