"""``python -m consumers.cli ...``: the same as the ``aduan`` console script."""

from consumers.cli import main

main()
