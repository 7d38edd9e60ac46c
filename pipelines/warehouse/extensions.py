"""Install the DuckDB extensions territoires uses from their PyPI wheels (no download)."""

from __future__ import annotations

import duckdb
from duckdb_extensions import import_extension

EXTENSIONS = ("spatial", "excel")


def install_extensions() -> list[str]:
    """Install every extension into DuckDB's extension directory and check that it loads."""
    con = duckdb.connect()
    installed = []
    for name in EXTENSIONS:
        import_extension(name, con=con)
        con.execute(f"load {name}")
        installed.append(name)
    con.close()
    return installed


if __name__ == "__main__":
    print("DuckDB extensions installed offline:", ", ".join(install_extensions()))
