"""The migrations and the table definitions agree: what the code queries is what the database has."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect

from callcenter.store.tables import metadata


def test_every_table_and_column_the_code_names_exists_after_the_migrations(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        inspector = inspect(engine)
        for table in metadata.sorted_tables:
            columns = {column["name"] for column in inspector.get_columns(table.name)}
            assert set(table.columns.keys()) <= columns, table.name
    finally:
        engine.dispose()
