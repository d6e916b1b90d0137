"""Alembic migrations for the carenotes database (SQLite and PostgreSQL).

Applied by :func:`webapp.migrate.migrate` (called from :func:`webapp.db.init_schema`)
and by ``carenotes db upgrade``.
"""
