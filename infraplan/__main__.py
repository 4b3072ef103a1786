"""``python -m infraplan`` runs the command-line interface."""

from infraplan.cli import main

main()
