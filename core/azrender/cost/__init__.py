"""Know before you pay: the dated VM price table (:mod:`.prices`), the estimate made from measured
frames and the real usage of a finished job (:mod:`.estimate`). Pure: no I/O beyond reading the
table and config.toml."""
