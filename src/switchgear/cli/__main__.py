"""``python -m switchgear.cli``: the same as the ``switchgear`` command."""

from switchgear.cli.main import main

main()
