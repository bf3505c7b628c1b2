"""``python -m asyncmigrate``."""

from .cli.main import main

main()
