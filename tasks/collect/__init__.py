"""Stage 1, collect: fetch, store, parse, guard, check and load every input file of a partnership."""
