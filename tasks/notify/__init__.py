"""Stage 4, notify: the messages of the year (quality reports, data requests, metric pack)."""
