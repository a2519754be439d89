"""Alembic environment: runs migrations against the URL set by db.migrate.migrate."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from db.models import metadata

config = context.config


def run_migrations_online() -> None:
    """Run migrations in one transaction on a fresh connection."""
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "", poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata, transaction_per_migration=False)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
