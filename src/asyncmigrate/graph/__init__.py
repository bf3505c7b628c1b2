"""The revision graph: revision files read without running them, the graph with Alembic's
semantics, its on-disk cache, the applied/pending plan, and Alembic's text for it."""
