"""``python -m trajkit.cli`` runs the same CLI as the ``trajkit`` console script."""

from trajkit.cli.app import main

main()
