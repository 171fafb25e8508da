"""Build tests/fixtures/statistics-reference.json from PHEindicatormethods' test workbooks and the Fingertips export.

Usage: python scripts/build_statistics_reference.py OUT.json PHE_TESTTHAT_DIR FINGERTIPS_CSV
PHE_TESTTHAT_DIR holds tests/testthat/*.xlsx of ukhsa-collaboration/PHEindicatormethods at COMMIT (git show
COMMIT:tests/testthat/<file> > DIR/<file>); FINGERTIPS_CSV is indicators-CountyUA.data.csv (see tests/fixtures/SOURCES.md).
Values are copied, never computed: the fixture is what the tests compare our statistics with.
"""
import json
import sys

import openpyxl
import pandas as pd

COMMIT = "093fd288d8f8949dbcfbed70049dbbf385b6141d"
def sheet(f, name):
    ws = openpyxl.load_workbook(sys.argv[2] + "/" + f, data_only=True)[name]
    rows = list(ws.iter_rows(values_only=True))
    head = rows[0]
    return [dict(zip(head, r)) for r in rows[1:] if any(v is not None for v in r)]

def src(path, sheet_name, rows, note=""):
    d = {"repository": "ukhsa-collaboration/PHEindicatormethods", "commit": COMMIT, "path": path,
         "sheet": sheet_name, "rows": rows}
    if note: d["note"] = note
    return d

LEVEL = {"95%": 0.95, "99.8%": 0.998}
out = {"about": "External reference values for tasks/compute/statistics.py. Every section names its source; values are "
       "copied, never computed here. PHEindicatormethods' test workbooks hold values computed by PHE's Excel tools "
       "(the package's testthat suite checks its R functions against them). Built by the script quoted in "
       "tests/fixtures/SOURCES.md."}

bw = sheet("testdata_Byars_Wilson.xlsx", "testdata_B_W")
out["byar"] = {"source": src("tests/testthat/testdata_Byars_Wilson.xlsx", "testdata_B_W", "2-7 (spreadsheet rows; row 1 is the header)",
    "row 14 (x = 1 at 99.8%, no lower limit) is not used by the package's own tests and is left out"),
    "cases": [{"count": r["x"], "confidence": LEVEL[r["confidence"]], "lower": r["lowercl"], "upper": r["uppercl"]}
              for r in bw[0:6]]}
out["wilson"] = {"source": src("tests/testthat/testdata_Byars_Wilson.xlsx", "testdata_B_W", "8-13 except 10 and 13",
    "rows 10 and 13 have a fractional numerator (0.445 of 1), which wilson_proportion refuses as not a whole count"),
    "cases": [{"numerator": r["x"], "denominator": r["n"], "confidence": LEVEL[r["confidence"]], "lower": r["lowercl"],
               "upper": r["uppercl"]} for r in bw[6:12] if r["x"] == int(r["x"])]}

rate = sheet("testdata_Rate.xlsx", "testdata_Rate")
out["crude_rate"] = {"source": src("tests/testthat/testdata_Rate.xlsx", "testdata_Rate", "2-17 and 21",
    "method Exact = exact Poisson (under 10 events), Byars from 10; rows 18-20 are missing-value cases"),
    "cases": [{"count": r["Numerator"], "denominator": r["Denominator"], "multiplier": r["multiplier"], "method": r["method"],
               "value": r["value"], "lower95": r["lower95_0cl"], "upper95": r["upper95_0cl"],
               "lower998": r["lower99_8cl"], "upper998": r["upper99_8cl"]} for r in rate if r["value"] is not None]}

prop = sheet("testdata_Proportion.xlsx", "testdata_Prop")
out["proportion"] = {"source": src("tests/testthat/testdata_Proportion.xlsx", "testdata_Prop", "2-17"),
    "cases": [{"numerator": r["Numerator"], "denominator": r["Denominator"], "multiplier": r["multiplier"],
               "value": r["value"], "lower95": r["lower95_0cl"], "upper95": r["upper95_0cl"],
               "lower998": r["lower99_8cl"], "upper998": r["upper99_8cl"]} for r in prop if r["value"] is not None]}

multi = sheet("testdata_DSR_ISR.xlsx", "testdata_multiarea")
areas = {}
for r in multi:
    a = areas.setdefault(r["area"], {"bands": [], "counts": [], "populations": []})
    a["bands"].append(r["ageband"]); a["counts"].append(r["count"]); a["populations"].append(r["pop"])
dsr = sheet("testdata_DSR_ISR.xlsx", "testresults_DSR")
y1976 = sheet("testdata_DSR_ISR.xlsx", "testdata_1976")
def dsr_result(r, multiplier, with998=True):
    d = {"area": r["area"], "total_count": r["total_count"], "total_population": r["total_pop"], "value": r["value"],
         "lower95": r["lower95_0cl"], "upper95": r["upper95_0cl"]}
    if with998: d.update(lower998=r["lower99_8cl"], upper998=r["upper99_8cl"])
    d["multiplier"] = multiplier  # by position: sheet rows 2-5 are per 10,000, rows 6-9 per 100,000
    return d
out["dsr"] = {"source": src("tests/testthat/testdata_DSR_ISR.xlsx", "testdata_multiarea (inputs), testresults_DSR (results)",
    "testresults_DSR rows 2-4 and 6-8 (ESP2013; the package's tests use rows 6-8), row 9 (ESP1976, 95% only)",
    "standard population: ESP2013 for testdata_big/small/tiny (data-raw/LoadTestdata.R, esp2013); the esp1976 column "
    "of sheet testdata_1976 for testdata_1976. The 99.8% limits of testdata_1976 in the sheet are ten times too large "
    "(above the 95% limits' scale) and the package's test uses only its 95% columns, so they are left out. The band "
    "label '55-69' is the workbook's own typo for 55-59."),
    "inputs": areas,
    "input_1976": {"bands": [r["Age Band"] for r in y1976], "counts": [r["count"] for r in y1976],
                   "populations": [r["pop"] for r in y1976], "standard": [r["esp1976"] for r in y1976]},
    "results": [dsr_result(r, 10000) for r in dsr[0:3]] + [dsr_result(r, 100000) for r in dsr[4:7]]
               + [dsr_result(dsr[7], 100000, False)]}

isr_in = sheet("testdata_DSR_ISR.xlsx", "testdata_multiarea_isr")
ref = sheet("testdata_DSR_ISR.xlsx", "refdata")
isr = sheet("testdata_DSR_ISR.xlsx", "testresults_ISR")
err2 = sheet("testdata_DSR_ISR.xlsx", "testdata_err2")
def pops(rows, area): return [r["pop"] for r in rows if r["area"] == area]
def counts(rows, area): return [r["count"] for r in rows if r["area"] == area]
out["isr"] = {"source": src("tests/testthat/testdata_DSR_ISR.xlsx",
    "testdata_multiarea and testdata_err2 (inputs, as the package's 'test standard' case), refdata (reference), testresults_ISR (results)",
    "testresults_ISR rows 8-13 (ratio x 1 and x 100) and 16-17 (testdata_err2: Area1 has a population of 0 in one band); a missing count is 0 (testdata_tiny 10-14), as the lookup sheet's total_count of 9 says"),
    "reference": {"bands": [r["Age Band"] for r in ref], "counts": [r["refcount"] for r in ref],
                  "populations": [r["refpop"] for r in ref]},
    "areas": {**{a: {"counts": counts(multi, a), "populations": pops(multi, a)} for a in dict.fromkeys(r["area"] for r in multi)},
              **{a: {"counts": counts(err2, a), "populations": pops(err2, a)} for a in ("Area1", "Area2")}},
    "results": [{"area": r["area"], "observed": r["observed"], "expected": r["expected"], "value": r["value"],
                 "multiplier": 1 if r["statistic"].endswith("x 1") else 100,
                 "lower95": r["lower95_0cl"], "upper95": r["upper95_0cl"],
                 "lower998": r["lower99_8cl"], "upper998": r["upper99_8cl"], "method": r["method"]}
                for r in isr[6:12] + isr[14:16]]}

ft = pd.read_csv(sys.argv[3])
ft["record"] = range(1, len(ft) + 1)
has = ft.dropna(subset=["Lower CI 95.0 limit", "Count", "Denominator"])
def sample(frame, n):
    frame = frame.sort_values(["Count", "record"])
    idx = sorted(set([0, len(frame) - 1] + [round(i * (len(frame) - 1) / (n - 1)) for i in range(n)]))
    return frame.iloc[idx]
def rows(frame):
    return [{"record": int(r.record), "period": str(r["Time period"]), "area_code": r["Area Code"], "age": r.Age,
             "count": float(r.Count), "denominator": float(r.Denominator), "value": r.Value,
             "lower95": r["Lower CI 95.0 limit"], "upper95": r["Upper CI 95.0 limit"]} for _, r in frame.iterrows()]
allages = pd.concat([has[has.Age == "All ages"], has[has["Area Code"] == "E92000001"]]).drop_duplicates("record")
young = has[has.Age == "0-9 yrs"]
small = young[young.Count < 10].sort_values(["Count", "record"]).drop_duplicates("Count")
out["fingertips_93356"] = {"source": {"file": "indicators-CountyUA.data.csv (Fingertips export of indicator 93356, "
    "Campylobacter incidence rate/100,000; copied from jargonautical/data-dev at "
    "ebe593c58f157e3ac3808f014f7a12509588306b, also /work/shared/data/fingertips/)",
    "record": "1 = the first data record after the header (records span two lines: the Indicator Name holds a newline)",
    "note": "Fingertips' 95% limits for the 'All ages' rows are exact Poisson (chi-squared) limits at every count "
            "(to about 4e-7 relative over all 453 such rows); for the '0-9 yrs' rows they are Byar's limits at every "
            "count, with z = 1.96 exactly (to 7e-10 over all 302 rows), i.e. a two-sided level of 0.9500042."},
    "exact_all_ages": rows(sample(allages, 20)),
    "byar_z196_0_to_9": rows(pd.concat([small, sample(young[young.Count >= 10], 14)]).drop_duplicates("record"))}
json.dump(out, open(sys.argv[1], "w"), indent=1)
