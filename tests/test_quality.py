"""Tests of the validation of parsed raw frames (pipelines.quality)."""

from __future__ import annotations

import pickle
import subprocess
import sys
import time

import pandas as pd
import pytest

from pipelines.quality import (
    COMMUNE_CODE_REGEX,
    FrameSpec,
    ValidationFailed,
    ValidationReport,
    validate_frame,
)

FILE = {
    "source": "insee_population",
    "vintage": "2021",
    "file_name": "base-cc-evol-struct-pop-2021.csv",
    "entity": "commune",
}

SPEC = FrameSpec(
    columns=("CODGEO", "LIBGEO", "P21_POP", "TYPECOM"),
    key=("CODGEO",),
    commune_code_columns=("CODGEO",),
    not_null=("CODGEO", "LIBGEO"),
    min_rows=3,
    max_rows=100,
    numeric_columns=("P21_POP",),
    value_sets={"TYPECOM": ("COM", "ARM", "COMD")},
)


def communes() -> pd.DataFrame:
    """A small INSEE-like commune frame, every column a string."""
    return pd.DataFrame(
        {
            "CODGEO": ["01001", "01002", "2A004", "2B033", "75056", "97411"],
            "LIBGEO": [
                "L'Abergement-Clémenciat",
                "L'Abergement-de-Varey",
                "Ajaccio",
                "Bastia",
                "Paris",
                "Saint-Denis",
            ],
            "P21_POP": ["859", "273", "73854", "48503", "2133111", "154765"],
            "TYPECOM": ["COM", "COM", "COM", "COM", "COM", "COM"],
        },
        dtype="string",
    )


def check(df: pd.DataFrame, spec: FrameSpec = SPEC) -> ValidationReport:
    """Validate without raising, to look at the report."""
    return validate_frame(df, spec, raise_on_failure=False, **FILE)


def only_failure(report: ValidationReport) -> str:
    assert not report.passed
    assert len(report.failures) == 1, report.summary()
    return report.failures[0]


def test_importing_the_package_does_not_import_great_expectations():
    code = "import sys, pipelines.quality; print('great_expectations' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_timings_first_and_later_validations(capsys):
    started = time.perf_counter()
    check(communes())
    first = time.perf_counter() - started

    later = []
    for _ in range(10):
        started = time.perf_counter()
        check(communes())
        later.append(time.perf_counter() - started)

    with capsys.disabled():
        print(
            f"\n[quality] first validation (GX import + context): {first:.2f} s; "
            f"later validations: mean {sum(later) / len(later) * 1000:.0f} ms, "
            f"max {max(later) * 1000:.0f} ms"
        )


def test_good_data_passes():
    report = validate_frame(communes(), SPEC, **FILE)
    assert report.passed
    assert report.failures == ()
    assert report.rows == 6
    assert report.summary() == (
        "insee_population 2021 base-cc-evol-struct-pop-2021.csv (commune): 6 rows, passed"
    )


def test_plain_object_columns_and_extra_columns_pass():
    df = communes().astype(object)
    df["DEP"] = ["01", "01", "2A", "2B", "75", "974"]
    assert check(df).passed


def test_corsica_and_overseas_codes_are_accepted():
    spec = FrameSpec(columns=("CODGEO",), commune_code_columns=("CODGEO",))
    df = pd.DataFrame({"CODGEO": ["2A004", "2B033", "97411", "97611", "01001"]})
    assert check(df, spec).passed


@pytest.mark.parametrize("code", ["01001", "2A004", "2B033", "97411"])
def test_commune_code_regex_accepts(code):
    import re

    assert re.match(COMMUNE_CODE_REGEX, code)


@pytest.mark.parametrize("code", ["1001", "010010", "2C004", "2a004", " 01001", "01001.0", ""])
def test_commune_code_regex_rejects(code):
    import re

    assert not re.match(COMMUNE_CODE_REGEX, code)


def test_missing_column_suggests_a_rename():
    df = communes().rename(columns={"LIBGEO": "libgeo"})
    failure = only_failure(check(df))
    assert "column LIBGEO is missing" in failure
    assert "'libgeo'" in failure
    assert "renamed" in failure


def test_missing_column_with_similar_spelling_and_checks_skipped():
    df = communes().rename(columns={"TYPECOM": "TYP_COM"})
    df.loc[0, "TYP_COM"] = "not a type"  # would fail the value set if it were checked
    failure = only_failure(check(df))
    assert "column TYPECOM is missing" in failure
    assert "'TYP_COM'" in failure


def test_missing_column_without_any_close_match():
    df = communes().drop(columns=["P21_POP"])
    failure = only_failure(check(df))
    assert "column P21_POP is missing" in failure
    assert "no present column looks like it" in failure


def test_missing_key_column_skips_the_key_and_code_checks():
    df = communes().rename(columns={"CODGEO": "\ufeffCODGEO"})  # byte-order mark kept in the header
    report = check(df)
    assert len(report.failures) == 1
    assert "column CODGEO is missing" in report.failures[0]
    assert "'\\ufeffCODGEO'" in report.failures[0]


def test_codes_that_lost_their_leading_zeros():
    df = communes()
    df["CODGEO"] = ["1001", "1002", "2A004", "2B033", "75056", "97411"]
    failure = only_failure(check(df))
    assert failure.startswith("column CODGEO: 2 values are not 5-character commune codes")
    assert "'1001', '1002'" in failure
    assert "leading zeros lost?" in failure


def test_duplicate_key():
    df = communes()
    df.loc[1, "CODGEO"] = "01001"
    failure = only_failure(check(df))
    assert failure.startswith("key CODGEO: 2 rows share their key")
    assert "'01001'" in failure


def test_duplicate_compound_key():
    spec = FrameSpec(columns=("CODGEO", "ANNEE", "VALEUR"), key=("CODGEO", "ANNEE"))
    df = pd.DataFrame(
        {
            "CODGEO": ["01001", "01001", "01001", "01002"],
            "ANNEE": ["2020", "2021", "2021", "2021"],
            "VALEUR": ["1", "2", "3", "4"],
        }
    )
    failure = only_failure(check(df, spec))
    assert failure.startswith("key (CODGEO, ANNEE): 2 rows share their key")
    assert "CODGEO='01001', ANNEE='2021'" in failure


def test_too_few_rows():
    failure = only_failure(check(communes().head(2)))
    assert failure == "row count: 2 rows, expected between 3 and 100 (truncated or wrong file?)"


def test_too_many_rows():
    spec = FrameSpec(columns=SPEC.columns, max_rows=5)
    failure = only_failure(check(communes(), spec))
    assert "6 rows, expected at most 5" in failure


def test_null_in_not_null_column():
    df = communes()
    df.loc[4, "LIBGEO"] = None
    failure = only_failure(check(df))
    assert failure.startswith("column LIBGEO: 1 value is empty")
    assert "row index 4" in failure


def test_null_is_allowed_elsewhere():
    df = communes()
    df.loc[4, "P21_POP"] = None  # not in not_null: a missing number is fine
    assert check(df).passed


def test_non_numeric_values():
    df = communes()
    df["P21_POP"] = ["859", "273", "73 854", "48503,5", "n/a", "-12.5"]
    failure = only_failure(check(df))
    assert failure.startswith("column P21_POP: 3 values are not plain numbers")
    assert "'73 854', '48503,5', 'n/a'" in failure
    assert "decimal comma" in failure


def test_numbers_in_exponent_notation_are_plain_numbers():
    """A Parquet double read as text: a longitude near the Greenwich meridian comes out as 8e-06."""
    df = communes()
    df["P21_POP"] = ["8e-06", "1.5E+3", "-2e5", "859", "0.25", "3e"]
    failure = only_failure(check(df))
    assert failure.startswith("column P21_POP: 1 value is not a plain number") and "'3e'" in failure


def test_value_outside_set():
    df = communes()
    df.loc[2, "TYPECOM"] = "COMA"
    failure = only_failure(check(df))
    assert failure.startswith("column TYPECOM: 1 value is not among the allowed values")
    assert "'COMA'" in failure


def test_empty_frame():
    df = communes().iloc[0:0]
    report = check(df)
    assert report.rows == 0
    assert only_failure(report) == "file has no data rows (empty file, or header only)"


def test_empty_frame_fails_even_without_min_rows():
    spec = FrameSpec(columns=("CODGEO",))
    assert "no data rows" in only_failure(check(pd.DataFrame({"CODGEO": []}, dtype=str), spec))


def test_several_failures_are_all_reported_in_order():
    df = communes().rename(columns={"TYPECOM": "typecom"})
    df.loc[0, "CODGEO"] = "1001"
    df.loc[1, "P21_POP"] = "?"
    report = check(df)
    assert len(report.failures) == 3
    assert "column TYPECOM is missing" in report.failures[0]
    assert "column CODGEO" in report.failures[1]
    assert "column P21_POP" in report.failures[2]


def test_exception_names_the_file_and_each_failure():
    df = communes()
    df.loc[0, "CODGEO"] = "1001"
    with pytest.raises(ValidationFailed) as caught:
        validate_frame(df, SPEC, **FILE)
    text = str(caught.value)
    lines = text.splitlines()
    assert lines[0] == (
        "insee_population 2021 base-cc-evol-struct-pop-2021.csv (commune): 6 rows, FAILED"
    )
    assert "  - column CODGEO: 1 value is not a 5-character commune code" in lines[1]
    assert text.endswith("fix or replace the file; the previous snapshot stays in use.")
    assert caught.value.report.passed is False
    assert caught.value.report.source == "insee_population"


def test_exception_survives_pickling():
    df = communes().head(1)
    with pytest.raises(ValidationFailed) as caught:
        validate_frame(df, SPEC, **FILE)
    copy = pickle.loads(pickle.dumps(caught.value))
    assert copy.report == caught.value.report
    assert str(copy) == str(caught.value)


def test_from_dict_reads_the_catalogue_entry():
    spec = FrameSpec.from_dict(
        {
            "columns": ["CODGEO", "LIBGEO", "P21_POP", "TYPECOM"],
            "key": ["CODGEO"],
            "commune_code_columns": ["CODGEO"],
            "not_null": ["CODGEO", "LIBGEO"],
            "rows": [3, 100],
            "numeric_columns": ["P21_POP"],
            "value_sets": {"TYPECOM": ["COM", "ARM", "COMD"]},
        }
    )
    assert spec == SPEC
    assert hash(spec) == hash(SPEC)


def test_from_dict_defaults_and_open_row_bounds():
    spec = FrameSpec.from_dict({"columns": ["CODGEO"], "rows": [1000, None]})
    assert spec == FrameSpec(columns=("CODGEO",), min_rows=1000)
    assert FrameSpec.from_dict({"columns": ["A"]}).min_rows is None


@pytest.mark.parametrize(
    "entry, message",
    [
        ({"columns": ["A"], "not_nul": ["A"]}, "unknown key"),
        ({"key": ["A"]}, "columns"),
        ({"columns": ["A"], "key": ["B"]}, "not in 'columns'"),
        ({"columns": ["A"], "value_sets": {"B": ["x"]}}, "not in 'columns'"),
        ({"columns": ["A"], "rows": [10, 5]}, "above max_rows"),
        ({"columns": ["A"], "rows": [10]}, "\\[min, max\\]"),
        ({"columns": "A"}, "list of column names"),
    ],
)
def test_from_dict_rejects_bad_entries(entry, message):
    with pytest.raises(ValueError, match=message):
        FrameSpec.from_dict(entry)
