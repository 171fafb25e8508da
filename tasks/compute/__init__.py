"""Stage 3, compute: the national and local measures with their statistics, charts and published tables."""
