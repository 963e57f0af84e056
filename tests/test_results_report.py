"""benchmarks/RESULTS.md is generated from the committed results stores, never edited by hand."""

from script_loader import load_script

report = load_script("report")


def test_the_committed_results_report_is_what_the_stores_give():
    assert report.REPORT.read_text() == report.render(), "stale: run `make report`"
