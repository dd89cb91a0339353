"""The ``handoff`` command line: the one package that imports both the engine and the UI."""
