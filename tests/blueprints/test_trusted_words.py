"""The trusted-person pages' words: the provider in the genitive («на портале Госуслуг»)."""

from __future__ import annotations

from flask import g, render_template

from app.blueprints.trusted import routes
from app.blueprints.trusted.forms import InviteForm
from app.identity import provider_names


def test_the_invitee_must_be_registered_on_the_portal_of_gosuslugi(app):
    mosreg = app.extensions["tenants"].get("mosreg")
    with app.test_request_context(base_url="http://mosreg.localhost/"):
        g.tenant = mosreg
        page = render_template(
            "trusted/_wizard.html", step="invite", steps=routes.STEPS, titles=routes.TITLES,
            state={}, chosen=[], invitee=None, services={}, form=InviteForm(), activation="",
            idp=provider_names(mosreg),
        )  # fmt: skip
        assert "должно быть зарегистрировано на портале Госуслуг." in page
        assert "на портале Госуслуги" not in page
        assert routes.refusal().endswith("зарегистрировано на портале Госуслуг.")


def test_on_mos_ru_the_name_does_not_decline(app):
    with app.test_request_context(base_url="http://moscow.localhost/"):
        g.tenant = app.extensions["tenants"].get("moscow")
        assert routes.refusal().endswith("зарегистрировано на портале mos.ru.")
