"""ONS area codes every stage refers to."""

ENGLAND = "E92000001"  # the comparator Fingertips publishes for every indicator
# England's nine regions (ONS RGN codes, the "Region" area type of Fingertips): the second comparator Fingertips
# publishes ("Compared to Region"); a partnership's region is its authorities' ancestor in a Fingertips export
REGIONS = {
    "E12000001": "North East region",
    "E12000002": "North West region",
    "E12000003": "Yorkshire and the Humber region",
    "E12000004": "East Midlands region",
    "E12000005": "West Midlands region",
    "E12000006": "East of England region",
    "E12000007": "London region",
    "E12000008": "South East region",
    "E12000009": "South West region",
}
BENCHMARKS = (ENGLAND, *REGIONS)  # areas published beside a partnership's own as comparators, never its own


def benchmark_name(code: str) -> str | None:
    """England or the region's name (as Fingertips names it); None for any other code."""
    return "England" if code == ENGLAND else REGIONS.get(code)
