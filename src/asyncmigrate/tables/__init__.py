"""The tables asyncmigrate keeps in the database: Alembic's version table (the row it updates)
and the history table (what ran, with checksums), and the fast read of both."""
