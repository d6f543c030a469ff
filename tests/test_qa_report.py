"""The QA report: a region × scenario matrix built from the browser suite's record."""

import json

from tests.browser import report


def test_matrix_marks_pass_fail_missing_and_not_applicable(tmp_path):
    (tmp_path / "screens" / "P1" / "kaluga").mkdir(parents=True)
    (tmp_path / "screens" / "P1" / "kaluga" / "01-login.png").write_bytes(b"\x89PNG")
    records = [
        {"scenario": "P1", "region": "kaluga", "outcome": "passed"},
        {"scenario": "P2", "region": "kaluga", "outcome": "passed"},
        {"scenario": "P2", "region": "kaluga", "outcome": "failed"},
    ]
    (tmp_path / "results.jsonl").write_text("\n".join(json.dumps(r) for r in records))
    target, totals = report.build(tmp_path)
    page = target.read_text(encoding="utf-8")
    assert totals == {"passed": 1, "failed": 1}
    assert '<img src="screens/P1/kaluga/01-login.png" alt="login"' in page
    assert '<td class="failed"><span class="status">не пройден</span>' in page
    assert "не применяется: нет входа через Госуслуги" in page  # P1 in Moscow
    assert "нет автоматического теста" in page  # P1 in mosreg: no record
    assert report.main(["report", str(tmp_path)]) == 1
