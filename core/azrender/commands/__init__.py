"""One module per CLI subcommand (see azrender.cli)."""
