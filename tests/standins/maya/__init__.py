"""Stand-in for Maya's ``maya`` package (see tests/standins/README.md)."""
