"""Read-only SQL on the published warehouse: no writes, no files, no attachments, no installs.

Two layers keep `territoires query` to reading. The engine's own: the file opens
read-only, external access (files, URLs, ATTACH, COPY, extension installs) is off, no
temporary files are written, and the configuration is locked so a query cannot switch
any of that back on. Then a check of the statement before it runs (`check_statement`):
exactly one statement, of a kind that reads (SELECT, WITH, DESCRIBE, SHOW, SUMMARIZE,
EXPLAIN, the pragmas that only describe), calling no function that reads files or
changes the session. A refusal names its reason in one line; so does a query that fails.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa

FORMATS = ("table", "csv", "json")
DEFAULT_TIMEOUT = 60.0
MAX_TIMEOUT = 86_400.0  # a day: longer waits overflow the timer's clock
DEFAULT_MEMORY_LIMIT = "2GB"
MEMORY_LIMIT = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$", re.IGNORECASE)
UNIT_BYTES = {
    "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40,
}  # fmt: skip
BATCH_ROWS = 100_000

ONE_STATEMENT = "territoires query runs one read-only statement"
ONLY_READS = "territoires query only reads the warehouse"

# Why each kind of statement DuckDB reports (StatementType names) is refused.
REFUSED_STATEMENTS = {
    "INSERT": "INSERT changes the warehouse",
    "UPDATE": "UPDATE changes the warehouse",
    "DELETE": "DELETE and TRUNCATE change the warehouse",
    "CREATE": "CREATE changes the warehouse",
    "CREATE_FUNC": "CREATE MACRO changes the warehouse",
    "DROP": "DROP changes the warehouse",
    "ALTER": "ALTER and COMMENT ON change the warehouse",
    "MERGE_INTO": "MERGE changes the warehouse",
    "VACUUM": "VACUUM and ANALYZE change the warehouse",
    "ANALYZE": "VACUUM and ANALYZE change the warehouse",
    "COPY": "COPY writes or reads files",
    "COPY_DATABASE": "COPY FROM DATABASE copies databases",
    "EXPORT": "EXPORT DATABASE writes files",
    "ATTACH": "ATTACH opens other databases",
    "DETACH": "DETACH closes databases",
    "LOAD": "INSTALL and LOAD add extensions",
    "SET": "SET, RESET, USE and PRAGMA <setting> = … change settings",
    "VARIABLE_SET": "SET VARIABLE changes the session",
    "PRAGMA": "this PRAGMA changes settings (the pragmas that describe, such as table_info or version, are allowed)",
    "CALL": "CALL runs functions that can change the session (a table function that reads works as SELECT * FROM f())",
    "TRANSACTION": "BEGIN, COMMIT and ROLLBACK manage transactions",
    "PREPARE": "PREPARE keeps a statement in the session",
    "EXECUTE": "EXECUTE runs a prepared statement",
}
# Functions a SELECT may not call, and why; any read_* or parquet_* function reads files too.
FILE_FUNCTIONS = {"glob", "sniff_csv", "which_secret", "duckdb_extensions"}
SESSION_FUNCTIONS = {
    "checkpoint", "force_checkpoint", "enable_logging", "disable_logging", "truncate_duckdb_logs", "write_log",
    "enable_profiling", "disable_profiling",
}  # fmt: skip
SQL_TEXT_FUNCTIONS = {"query", "query_table", "json_execute_serialized_sql"}
MEMORY_FUNCTIONS = {"arrow_scan", "arrow_scan_dumb", "pandas_scan", "python_map_function"}
FILE_NAME_CHARACTERS = set("/\\.:*?~")


class QueryError(RuntimeError):
    """The query could not run; the message says why in a user's terms, in one line."""


def refused(reason: str, rule: str = ONLY_READS) -> QueryError:
    """The one-line error of a refused statement."""
    return QueryError(f"refused: {reason}; {rule}")


def one_line(exc: BaseException) -> str:
    """DuckDB's message without its `LINE 1: … ^` pointer or its hints, on one line."""
    head = str(exc).strip().split("\n\n")[0]
    return " ".join(line.strip() for line in head.splitlines() if line.strip() and not line.startswith("LINE "))


def parse_memory_limit(text: str) -> str:
    """`500MB`, `2GB`, `1.5GB`… as DuckDB reads them; ValueError for anything else or zero."""
    match = MEMORY_LIMIT.match(text or "")
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"{text!r} is not a memory size such as 500MB, 2GB or 1.5GB")
    return f"{match.group(1)}{match.group(2).upper().replace('I', 'i')}"


def memory_bytes(limit: str) -> int:
    """A memory size (`1.5GB`, `500MiB`) in bytes; units as DuckDB reads them (GB = 10^9 bytes)."""
    match = MEMORY_LIMIT.match(parse_memory_limit(limit))
    return int(float(match.group(1)) * UNIT_BYTES[match.group(2)])


def open_readonly(warehouse: Path, *, memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """A connection that can read the warehouse and nothing else.

    The database opens read-only; external access (files, URLs, ATTACH, COPY … TO,
    extension installs), spilling to temporary files (DuckDB would write
    `<warehouse>.tmp/` next to the file) and Python replacement scans are off, and the
    configuration is locked so a query cannot switch them back on. `memory_limit`
    (e.g. "2GB") caps what one query may use; None keeps DuckDB's default.
    """
    if not warehouse.exists():
        raise QueryError(
            f"no published warehouse at {warehouse}; run `territoires demo` or `territoires build` first"
        )
    config: dict[str, Any] = {
        "enable_external_access": False,
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "python_enable_replacements": False,
        "temp_directory": "",
    }
    if memory_limit is not None:
        config["memory_limit"] = parse_memory_limit(memory_limit)
    config["lock_configuration"] = True  # last: it freezes every setting above
    try:
        return duckdb.connect(str(warehouse), read_only=True, config=config)
    except duckdb.Error as exc:
        raise QueryError(f"cannot open the warehouse {warehouse}: {one_line(exc)}") from None


def _words(sql: str) -> list[tuple[int, str]]:
    """The SQL's tokens (comments skipped) as (position, text) pairs."""
    starts = [start for start, _ in duckdb.tokenize(sql)]
    return [(start, sql[start:end].strip()) for start, end in zip(starts, starts[1:] + [len(sql)])]


def _leading_words(sql: str, count: int = 2) -> str:
    """The first words of the SQL, upper case: `UPDATE EXTENSIONS`."""
    return " ".join(text for _, text in _words(sql)[:count]).upper()


def _nodes(tree: Any) -> Iterator[dict]:
    """Every mapping of a parsed statement (json_serialize_sql), depth first."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            yield node
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _function_reason(name: str) -> str | None:
    """Why a SELECT may not call this function, or None."""
    name = name.lower()
    if name in FILE_FUNCTIONS or name.startswith(("read_", "parquet_")):
        return f"{name}() reads files"
    if name in SESSION_FUNCTIONS:
        return f"{name}() changes the session or the database"
    if name in SQL_TEXT_FUNCTIONS:
        return f"{name}() runs SQL text that cannot be checked"
    if name in MEMORY_FUNCTIONS:
        return f"{name}() reads the memory of the Python process"
    return None


def _check_select(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Refuse a SELECT that calls a refused function or names a file as a table (`from 'x.csv'`)."""
    parsed = json.loads(con.execute("select json_serialize_sql(?)", [sql]).fetchone()[0])
    if parsed.get("error"):
        raise QueryError(parsed.get("error_message", "the statement could not be read"))
    for node in _nodes(parsed["statements"]):
        reason = _function_reason(node["function_name"]) if isinstance(node.get("function_name"), str) else None
        if reason:
            raise refused(reason)
        table = node.get("table_name") if node.get("type") == "BASE_TABLE" else None
        if isinstance(table, str) and FILE_NAME_CHARACTERS & set(table):
            raise refused(f"'{table}' names a file, not a table of the warehouse")


def _explained(sql: str) -> str:
    """The statement an `EXPLAIN [ANALYZE] [(options)] …` explains."""
    tokens = _words(sql)
    words = [text.lower() for _, text in tokens]
    position = 1
    if position < len(words) and words[position] in ("analyze", "analyse"):
        position += 1
    if position < len(words) and words[position] == "(":
        depth = 0
        for position in range(position, len(words)):
            depth += {"(": 1, ")": -1}.get(words[position], 0)
            if depth == 0:
                break
        position += 1
    if position >= len(words):
        raise refused("EXPLAIN needs a statement to explain", ONE_STATEMENT)
    return sql[tokens[position][0] :]


def check_statement(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Raise QueryError (`refused: …`) unless `sql` is exactly one statement that only reads."""
    try:
        statements = con.extract_statements(sql)
    except duckdb.PermissionException:
        # IMPORT DATABASE reads its files while it is parsed.
        is_import = _leading_words(sql) == "IMPORT DATABASE"
        raise refused("IMPORT DATABASE reads files" if is_import else "the statement reads files") from None
    except duckdb.Error as exc:
        raise QueryError(one_line(exc)) from None
    if not statements:
        raise QueryError("no SQL statement given: territoires query runs one SELECT (or DESCRIBE, SHOW…)")
    if len(statements) > 1:
        hint = ""
        if _leading_words(sql, 1) == "PIVOT":
            hint = " (PIVOT without an IN list runs two: name its values, `on col in ('a', 'b')`)"
        raise refused(f"got {len(statements)} statements{hint}", ONE_STATEMENT)
    statement = statements[0]
    kind = statement.type.name
    if kind == "EXPLAIN":  # EXPLAIN ANALYZE runs the statement: it must pass the same checks
        check_statement(con, _explained(sql))
        return
    if kind != "SELECT":
        reason = REFUSED_STATEMENTS.get(kind, f"{_leading_words(sql)} is not a query that only reads")
        raise refused(reason)
    # Pragmas that describe (`pragma table_info('t')`) arrive rewritten as SELECT * FROM pragma_…().
    _check_select(con, statement.query)


def _interrupt_after(con: duckdb.DuckDBPyConnection, timeout: float, done: threading.Event) -> None:
    """Interrupt the connection's query once `timeout` seconds have passed, again every 50 ms until it stops.

    An interrupt that lands before DuckDB starts executing is forgotten; repeating it
    makes the time limit hold whatever the moment it fires.
    """
    if done.wait(timeout):
        return
    while True:
        con.interrupt()
        if done.wait(0.05):
            return


def _fetch(relation: duckdb.DuckDBPyRelation, memory_limit: str) -> pl.DataFrame:
    """The relation's rows as a frame, refused once they outgrow the memory limit.

    DuckDB's memory_limit covers what a query works with, not its result handed to
    Python: without this, `select * from range(1e9)` fills the machine's memory.
    """
    batches, size, limit = [], 0, memory_bytes(memory_limit)
    # Closed on the way out: a reader left open (kept alive by an error's traceback)
    # keeps its query running, and the next connection to the file then waits for ever.
    with relation.to_arrow_reader(BATCH_ROWS) as reader:
        for batch in reader:
            size += batch.nbytes
            if size > limit:
                raise QueryError(
                    f"query stopped: its result is larger than the limit of {memory_limit} (--memory-limit); "
                    "add a LIMIT, select fewer columns or aggregate"
                )
            batches.append(batch)
        return pl.from_arrow(pa.Table.from_batches(batches, schema=reader.schema))


def run_query(
    warehouse: Path, sql: str, *, timeout: float = DEFAULT_TIMEOUT, memory_limit: str = DEFAULT_MEMORY_LIMIT
) -> pl.DataFrame:
    """The result of one read-only SQL statement as a polars frame.

    The statement is checked first (`check_statement`); it is interrupted after
    `timeout` seconds and may use at most `memory_limit` (e.g. "2GB"). Every failure is
    a QueryError with a one-line message.
    """
    if not 0 < timeout <= MAX_TIMEOUT:  # also refuses NaN
        raise QueryError(f"the time limit must be above 0 and at most {MAX_TIMEOUT:g} s, got {timeout!r}")
    try:
        memory_limit = parse_memory_limit(memory_limit)
    except ValueError as exc:
        raise QueryError(str(exc)) from None
    with open_readonly(warehouse, memory_limit=memory_limit) as con:
        check_statement(con, sql)
        done = threading.Event()
        watchdog = threading.Thread(target=_interrupt_after, args=(con, timeout, done), daemon=True)
        watchdog.start()
        try:
            relation = con.sql(sql)
            frame = _fetch(relation, memory_limit) if relation is not None else None
        except duckdb.InterruptException:
            raise QueryError(f"query stopped after {timeout:g} s (--timeout)") from None
        except duckdb.OutOfMemoryException as exc:
            raise QueryError(
                f"query stopped: it needs more memory than the limit of {memory_limit} (--memory-limit): "
                f"{str(exc).splitlines()[0]}"
            ) from None
        except duckdb.PermissionException as exc:
            raise refused(f"reading or writing files is switched off ({one_line(exc)})") from None
        except duckdb.Error as exc:
            raise QueryError(one_line(exc)) from None
        finally:
            done.set()
            watchdog.join()
    if frame is None:
        raise QueryError("the statement returned no rows; territoires query only reads (SELECT, DESCRIBE, SHOW…)")
    return frame


def _json_text(value: Any) -> str:
    """A list or struct cell as JSON text (polars hands list cells over as Series)."""
    return json.dumps(value.to_list() if isinstance(value, pl.Series) else value, ensure_ascii=False, default=str)


def render(frame: pl.DataFrame, fmt: str) -> str:
    """A result as an aligned table, CSV or JSON records (nested values as JSON text in CSV)."""
    if fmt == "csv":
        nested = [name for name, dtype in frame.schema.items() if dtype.is_nested()]
        as_json = [pl.col(name).map_elements(_json_text, return_dtype=pl.Utf8) for name in nested]
        return frame.with_columns(as_json).write_csv()
    if fmt == "json":
        return json.dumps(frame.to_dicts(), ensure_ascii=False, default=str, indent=1)
    with pl.Config(tbl_rows=200, tbl_cols=30, fmt_str_lengths=60, tbl_hide_dataframe_shape=False):
        return str(frame)
