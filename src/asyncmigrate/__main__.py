"""``python -m asyncmigrate``."""

from .cli import main

main()
