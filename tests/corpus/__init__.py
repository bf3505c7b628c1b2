"""A corpus of published projects that ship an Alembic history, each run with plain Alembic and
with asyncmigrate on fresh databases and compared (tests/test_corpus.py, tests/corpus/report.py)."""
