"""Pure domain rules: no I/O, no clock, stdlib only."""
