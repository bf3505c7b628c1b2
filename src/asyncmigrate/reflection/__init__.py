"""Catalog reads for autogenerate (``check``, ``revision --autogenerate``)."""
