"""Everything an artist can do, with no Qt: the GUI, the CLI and the tests share these."""
