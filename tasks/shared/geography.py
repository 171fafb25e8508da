"""ONS area codes every stage refers to."""

ENGLAND = "E92000001"  # the comparator Fingertips publishes for every indicator
