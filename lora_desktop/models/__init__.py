"""Persistence and the contract's shapes: ORM tables, database setup, migrations, schemas.

Nothing here imports Qt; nothing is created at import time.
"""
