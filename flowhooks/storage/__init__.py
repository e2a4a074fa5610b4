"""Storage: SQLAlchemy 2 async Core on SQLite (aiosqlite) or PostgreSQL (asyncpg).

Only this package writes SQL. ``Storage.read()`` / ``Storage.write()`` hand out a
connection inside a transaction; the modules beside this one hold the queries.
"""

from flowhooks.storage.database import Storage

__all__ = ["Storage"]
