"""Classes are listed as people count them (2А before 11А) on the school administrator's
pages; the key itself and the teacher's classes are tested in tests/test_wording.py."""

from __future__ import annotations

import re

from app.models import JoinRequest
from app.wording import class_order
from tests.e2e.test_school_requests import one, radio_value


def test_the_students_list_goes_by_class_number(browser):
    admin = browser("mosreg")
    admin.esia_login("SA")
    page = admin.get("/school/students")
    classes = re.findall(r'<tr id="student-\d+">\s*<td>[^<]*</td>\s*<td>([^<]+)</td>', page.text)
    assert "2А" in classes and "11А" in classes
    assert classes == sorted(classes, key=class_order)
    assert classes.index("2А") < classes.index("11А")


def test_the_classes_to_enrol_in_go_by_class_number(browser, live):
    student = browser("mosreg")
    student.esia_login("P7")
    page = student.get("/access/", params={"q": "средняя общеобразовательная школа №"})
    school_id = radio_value(page, "Средняя общеобразовательная школа № 1")
    student.post("/access/join", {"school": school_id, "class_name": "2А"})
    request = one(live, JoinRequest, tenant="mosreg")
    admin = browser("mosreg")
    admin.esia_login("SA")
    detail = admin.get(f"/school/requests/join/{request.id}")
    options = re.findall(r'<option value="\d+"(?: selected)?>([^<]+)</option>', detail.text)
    assert options == ["2А", "3Б", "5А", "6В", "7Б", "11А"]
    assert '<option value="' in detail.text and re.search(r"selected>2А</option>", detail.text)
