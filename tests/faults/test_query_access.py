"""`territoires query` on hostile SQL: it reads the warehouse and nothing else.

Every refused statement must fail with one line naming the reason, leave no file behind
(the whole temporary folder is listed before and after) and leave the warehouse's bytes
as they were. Runaway queries stop at --timeout or --memory-limit, with one line too.
The warehouse is a small file built here (no pipeline build), with the published layout.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner, Result

from pipelines.cli import main
from pipelines.settings import DataHome

# (what the refusal must say, the SQL); {home} is the data home, so that a statement that
# got through would write or read inside the folder the test watches.
REFUSED_QUERIES: list[tuple[str, str]] = [
    # writes
    ("CREATE changes the warehouse", "create table t as select 1"),
    ("CREATE changes the warehouse", "create view indicators.v as select 1"),
    ("CREATE changes the warehouse", "create temp table t as select 1"),
    ("CREATE changes the warehouse", "create macro m() as 1"),
    ("CREATE changes the warehouse", "create secret s (type s3, key_id 'k', secret 's')"),
    ("INSERT changes the warehouse", "insert into meta.about (build_id) values ('forged')"),
    ("UPDATE changes the warehouse", "update indicators.long set value = 0"),
    ("DELETE and TRUNCATE", "delete from indicators.long"),
    ("DELETE and TRUNCATE", "truncate meta.about"),
    ("DROP changes the warehouse", "drop table meta.about"),
    ("DROP changes the warehouse", "drop schema indicators cascade"),
    ("ALTER and COMMENT ON", "alter table meta.about add column x int"),
    ("ALTER and COMMENT ON", "comment on table meta.about is 'x'"),
    ("MERGE changes the warehouse", "merge into meta.about using (select 'x' as build_id) as s using (build_id) when not matched then insert by name"),
    ("VACUUM and ANALYZE", "vacuum"),
    ("VACUUM and ANALYZE", "analyze"),
    ("BEGIN, COMMIT and ROLLBACK", "begin transaction"),
    ("PREPARE keeps a statement", "prepare p as select 1"),
    # other databases
    ("ATTACH opens other databases", "attach '{home}/other.duckdb' as other"),
    ("ATTACH opens other databases", "attach ':memory:' as scratch"),
    ("DETACH closes databases", "detach warehouse"),
    # files
    ("COPY writes or reads files", "copy indicators.long to '{home}/leak.csv'"),
    ("COPY writes or reads files", "copy (select * from meta.about) to '{home}/leak.parquet' (format parquet)"),
    ("COPY writes or reads files", "copy meta.about from '{home}/secret.csv'"),
    ("EXPORT DATABASE writes files", "export database '{home}/dump'"),
    ("EXPORT DATABASE writes files", "export database '{home}/dump' (format parquet)"),
    ("IMPORT DATABASE reads files", "import database '{home}/backup'"),
    ("IMPORT DATABASE reads files", "IMPORT   DATABASE '/etc'"),
    # extensions
    ("INSTALL and LOAD add extensions", "install httpfs"),
    ("INSTALL and LOAD add extensions", "force install httpfs"),
    ("INSTALL and LOAD add extensions", "load httpfs"),
    ("INSTALL and LOAD add extensions", "load '{home}/evil.duckdb_extension'"),
    ("UPDATE EXTENSIONS is not a query that only reads", "update extensions"),
    # settings
    ("change settings", "set memory_limit = '100GB'"),
    ("change settings", "set enable_external_access = true"),
    ("change settings", "set lock_configuration = false"),
    ("change settings", "set temp_directory = '{home}/spill'"),
    ("change settings", "reset memory_limit"),
    ("change settings", "pragma memory_limit = '100GB'"),
    ("change settings", "use meta"),
    ("change settings", "set variable x = 1"),
    ("this PRAGMA changes settings", "pragma enable_profiling"),
    ("this PRAGMA changes settings", "pragma enable_checkpoint_on_shutdown"),
    # CALL
    ("CALL runs functions", "call enable_logging()"),
    ("CALL runs functions", "call checkpoint()"),
    ("CALL runs functions", "checkpoint"),
    ("CALL runs functions", "force checkpoint"),
    ("CALL runs functions", "call pragma_version()"),
    # functions that read files, in every place a SELECT can call them
    ("read_text() reads files", "select * from read_text('/etc/passwd')"),
    ("read_blob() reads files", "select * from read_blob('/etc/passwd')"),
    ("read_csv() reads files", "select * from read_csv('/etc/passwd')"),
    ("read_csv() reads files", "SELECT * FROM READ_CSV('{home}/secret.csv')"),
    ("read_csv_auto() reads files", "select * from read_csv_auto('{home}/secret.csv')"),
    ("read_parquet() reads files", "select * from read_parquet('{home}/*.parquet')"),
    ("read_json() reads files", "select * from read_json('/etc/passwd')"),
    ("read_json_auto() reads files", "select * from read_json_auto('/etc/passwd')"),
    ("read_ndjson() reads files", "select * from read_ndjson('/etc/passwd')"),
    ("read_duckdb() reads files", "select * from read_duckdb('{home}/warehouse.duckdb')"),
    ("parquet_metadata() reads files", "select * from parquet_metadata('{home}/x.parquet')"),
    ("sniff_csv() reads files", "select * from sniff_csv('/etc/passwd')"),
    ("glob() reads files", "select * from glob('/*')"),
    ("glob() reads files", "select * from glob('{home}/**')"),
    ("read_text() reads files", "with x as (select * from read_text('/etc/passwd')) select * from x"),
    ("read_csv() reads files", "select 1 where exists (select * from read_csv('{home}/secret.csv'))"),
    ("read_text() reads files", "select content from meta.about join read_text('/etc/passwd') on true"),
    ("read_text() reads files", "select (select content from read_text('/etc/passwd'))"),
    ("read_text() reads files", "describe select * from read_text('/etc/passwd')"),
    ("read_text() reads files", "explain analyze select * from read_text('/etc/passwd')"),
    # files named as tables (replacement scans)
    ("names a file", "select * from '/etc/passwd'"),
    ("names a file", "from '{home}/secret.csv'"),
    ("names a file", "from 'secret.csv'"),
    ("names a file", "select * from '{home}/*.csv'"),
    ("names a file", "describe '{home}/secret.csv'"),
    ("names a file", "summarize '/etc/passwd'"),
    ("names a file", "select * from 'http://127.0.0.1:9/x.csv'"),
    # functions that change the session, or run SQL that cannot be checked
    ("enable_logging() changes the session", "select * from enable_logging(storage = 'file', storage_config = {{'path': '{home}/logs'}})"),
    ("checkpoint() changes the session", "select * from checkpoint()"),
    ("write_log() changes the session", "select write_log('x')"),
    ("query() runs SQL text", "select * from query('select 1')"),
    ("query_table() runs SQL text", "select * from query_table('meta.about')"),
    # several statements, even harmless ones
    ("got 2 statements", "select 1; select 2"),
    ("got 2 statements", "select 1;select 1"),
    ("got 2 statements", "select 1; drop table meta.about"),
    ("got 2 statements", "select 1; copy meta.about to '{home}/leak.csv'"),
    ("got 2 statements", "select 1; -- and then\nselect 2"),
    ("got 3 statements", "select 1; select 2; select 3"),
    ("got 2 statements", "pivot meta.about on build_id"),
    ("reads files", "select 1; import database '{home}/backup'"),
    # EXPLAIN ANALYZE runs what it explains: the same checks apply
    ("DROP changes the warehouse", "explain analyze drop table meta.about"),
    ("COPY writes or reads files", "explain copy meta.about to '{home}/leak.csv'"),
    ("CREATE changes the warehouse", "explain (format json) create table t as select 1"),
    ("got 2 statements", "explain select 1; select 2"),
]

ALLOWED_QUERIES = [
    "select count(*) as n from indicators.long",
    "with x as (select code from geo.commune) select count(*) as n from x",
    "select 1;",
    "-- a comment\nselect /* inline */ 1 as one;",
    "from meta.about",
    "describe indicators.long",
    "show tables",
    "show all tables",
    "summarize geo.commune",
    "pragma table_info('meta.about')",
    "pragma version",
    "explain select * from indicators.long",
    "explain analyze select count(*) from indicators.long",
    "select * from duckdb_tables()",
    "select value from indicators.long where code = '01001' and indicator_id = 'ind_1'",
]


def build_warehouse(path: Path, rows: int = 300_000) -> Path:
    """A small published-layout warehouse: meta.about, geo, indicators, one programme table."""
    with duckdb.connect(str(path)) as con:
        con.execute(
            f"""
            create schema meta; create schema geo; create schema indicators; create schema programmes;
            create table meta.about as select 'test-build' as build_id, timestamp '2026-01-01 00:00:00' as built_at,
                false as sample_data, '' as notice, '2025' as geography_vintage;
            create table geo.region as select '27' as region_code, 'Bourgogne-Franche-Comté' as name;
            create table geo.departement as select '71' as departement_code, 'Saône-et-Loire' as name, '27' as region_code;
            create table geo.commune as
                select lpad(i::varchar, 5, '0') as code, 'Commune ' || i as name, '71' as departement_code,
                       '27' as region_code, (i * 37 % 5000)::bigint as population
                from range(1, 1001) t(i);
            create table indicators.catalogue as
                select 'ind_' || i as indicator_id, 'Indicateur ' || i as label_fr, 'nombre' as unit
                from range(20) t(i);
            create table indicators.long as
                select 'ind_' || (i % 20) as indicator_id, 'commune' as level, lpad((i % 1000 + 1)::varchar, 5, '0') as code,
                       (2000 + i // 1000 % 300)::varchar as vintage, '2025' as geography_vintage,
                       (i % 997)::double as value, (i % 997)::double as numerator, 1.0::double as denominator
                from range({rows}) t(i);
            create table programmes.cafes_targets as
                select 'cafes' as programme, 'commune' as unit, code, name, code as commune_code, name as commune_name,
                       departement_code, region_code, population,
                       true as eligible, 1 as tier, 50.0 as score, row_number() over (order by code) as rank_france,
                       row_number() over (order by code) as rank_departement, 'village sans café' as reason_summary,
                       '1.0' as rule_version, null::varchar[] as reasons, null::varchar[] as priority
                from geo.commune;
            """
        )
    return path


def published_home(root: Path, rows: int = 300_000) -> DataHome:
    """A data home as a build leaves it: its folders, its lock file and a published warehouse."""
    home = DataHome(root).ensure()
    home.lock_file.touch()
    build_warehouse(home.warehouse, rows)
    return home


def files_under(root: Path) -> dict[str, int]:
    """Every file and folder below root (relative path → size; -1 for a folder)."""
    return {str(p.relative_to(root)): (p.stat().st_size if p.is_file() else -1) for p in sorted(root.rglob("*"))}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> DataHome:
    """One published data home for the module, with files a leaking statement could read."""
    home = published_home(tmp_path_factory.mktemp("query_home"))
    (home.root / "secret.csv").write_text("name,password\nalice,hunter2\n")
    backup = home.root / "backup"  # what IMPORT DATABASE would run
    backup.mkdir()
    (backup / "schema.sql").write_text("create table pwned as select 1 as x;\n")
    (backup / "load.sql").write_text("")
    return home


@pytest.fixture
def query(home, monkeypatch):
    """Run `territoires query [OPTIONS] -- SQL` on the module's data home, from inside it (relative paths land there).

    `--` lets a statement start with a `-- comment`.
    """
    monkeypatch.setenv("TERRITOIRES_HOME", str(home.root))
    monkeypatch.chdir(home.root)

    def run(sql: str, *options: str) -> Result:
        return CliRunner().invoke(main, ["query", *options, "--", sql])

    return run


def assert_one_line_error(result: Result, *expected: str) -> str:
    """The command failed cleanly: exit status 1, nothing on stdout, one `error:` line on stderr."""
    assert isinstance(result.exception, SystemExit), f"crashed: {result.exception!r}\n{result.output}"
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.stdout == ""
    message = result.stderr.strip()
    assert message.startswith("error: ") and "\n" not in message, message
    for text in expected:
        assert text in message, message
    return message


@pytest.mark.parametrize(("reason", "sql"), REFUSED_QUERIES, ids=[sql[:60] for _, sql in REFUSED_QUERIES])
def test_refused_statements_leave_nothing_behind(home, query, reason, sql):
    before, warehouse_sha = files_under(home.root), sha256(home.warehouse)
    message = assert_one_line_error(query(sql.format(home=home.root)), "refused", reason)
    assert "LINE 1" not in message
    assert files_under(home.root) == before
    assert sha256(home.warehouse) == warehouse_sha


@pytest.mark.parametrize("sql", ALLOWED_QUERIES)
def test_read_only_statements_still_answer(home, query, sql):
    result = query(sql, "--format", "csv")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip()
    assert not (home.root / "warehouse.duckdb.tmp").exists()


def test_results_are_right(query):
    assert query("select count(*) as n from indicators.long", "--format", "csv").stdout == "n\n300000\n"


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("select cast('x' as int)", "Could not convert string 'x' to INT32"),
        ("select 200::tinyint * 2::tinyint", "out of range"),
        ("select error('boom')", "boom"),
        ("select * from no_such_table", "Table with name no_such_table does not exist"),
        ("selct 1", 'syntax error at or near "selct"'),
        ("select * from meta.about where", "syntax error at end of input"),
        ("", "no SQL statement given"),
        (" ; -- nothing", "no SQL statement given"),
        ("explain", "syntax error"),
    ],
)
def test_failing_queries_say_why_in_one_line(query, sql, expected):
    message = assert_one_line_error(query(sql), expected)
    assert "LINE 1" not in message and "^" not in message


@pytest.mark.timeout(120)
def test_timeout_stops_a_runaway_query(home, query):
    before = files_under(home.root)
    started = time.monotonic()
    result = query("select count(*), sum(a.i * b.i) from range(100000) a(i), range(100000) b(i)", "--timeout", "0.5")
    assert time.monotonic() - started < 10
    assert_one_line_error(result, "query stopped after 0.5 s (--timeout)")
    assert files_under(home.root) == before


@pytest.mark.parametrize(
    "sql",
    [
        "select list(i) from range(50000000) t(i)",
        "select code, value from indicators.long, range(20) order by value desc, code",  # would spill to disk
        "select string_agg(code || indicator_id, ',') from indicators.long, range(10)",
    ],
)
@pytest.mark.timeout(120)
def test_memory_limit_stops_a_greedy_query_without_spilling(home, query, sql):
    before, warehouse_sha = files_under(home.root), sha256(home.warehouse)
    assert_one_line_error(query(sql, "--memory-limit", "20MB"), "20MB (--memory-limit)", "Out of Memory")
    assert files_under(home.root) == before  # no <warehouse>.tmp/ spill folder
    assert sha256(home.warehouse) == warehouse_sha


def test_memory_limit_also_caps_the_result(home, query):
    """DuckDB's limit covers the work, not the rows handed to Python: those are counted too."""
    before = files_under(home.root)
    message = assert_one_line_error(
        query("select i, i * 2 as j from range(100000000) t(i)", "--memory-limit", "20MB"),
        "its result is larger than the limit of 20MB (--memory-limit)",
    )
    assert "add a LIMIT" in message
    assert files_under(home.root) == before


def test_memory_limit_is_a_real_limit(query):
    """20MB is enough for a small query: the limit caps, it does not break every query."""
    assert query("select count(*) from indicators.long", "--memory-limit", "20MB").exit_code == 0
    assert query("select 1", "--memory-limit", "1.5GB").exit_code == 0


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--memory-limit", "lots"),
        ("--memory-limit", "0GB"),
        ("--memory-limit", "-1GB"),
        ("--memory-limit", "2 parsecs"),
        ("--memory-limit", "2GB; set enable_external_access=true"),
        ("--memory-limit", ""),
        ("--timeout", "0"),
        ("--timeout", "-1"),
        ("--timeout", "abc"),
        ("--timeout", "nan"),
        ("--timeout", "inf"),
        ("--timeout", "1e308"),
    ],
)
def test_bad_limits_are_usage_errors(query, option, value):
    result = query("select 1", option, value)
    assert result.exit_code == 2, result.output
    assert "Invalid value for" in result.stderr and option in result.stderr
    assert "Traceback" not in result.output


def test_no_warehouse_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("TERRITOIRES_HOME", str(tmp_path / "empty"))
    result = CliRunner().invoke(main, ["query", "select 1"])
    assert_one_line_error(result, "no published warehouse")
    assert not (tmp_path / "empty").exists()


def test_a_corrupt_warehouse_is_one_line(tmp_path, monkeypatch):
    home = DataHome(tmp_path / "home").ensure()
    home.warehouse.write_bytes(b"not a duckdb file\n" * 1000)
    monkeypatch.setenv("TERRITOIRES_HOME", str(home.root))
    assert_one_line_error(CliRunner().invoke(main, ["query", "select 1"]), "cannot open the warehouse")
