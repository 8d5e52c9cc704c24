"""The ``switchgear`` command line: serve, config check, simulate, version."""
