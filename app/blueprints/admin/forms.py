"""The regional administrator's forms: the region's configuration and rolling back to a version.

The configuration form is built per region from ``app.tenants.editing.FIELDS`` and the login
methods the region could offer, so a field added there appears here without a change. Its
inputs keep the configuration's dotted paths as names (and as keys of ``form.data``); each
field only reads what was typed into a value, and ``editing.config_from_form`` judges it
against the schema, in the page's language. The pages carry their own ``csrf_token`` input,
which CSRFProtect checks for the whole application, so these forms do not check it again.
"""

from __future__ import annotations

import re
from typing import Any

from flask import request
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.datastructures import CombinedMultiDict
from wtforms import BooleanField, HiddenField, StringField
from wtforms.validators import DataRequired, Length
from wtforms.widgets import ColorInput

from app.i18n import lazy_gettext as _l
from app.tenants import editing
from app.tenants.schema import TenantConfig

NUMERIC = {"inputmode": "numeric"}


class Typed(StringField):
    """A text input read into a value by ``parse``; shown again exactly as it was typed."""

    text = ""

    def parse(self, text: str) -> Any:
        return text.strip()

    def process_data(self, value: Any) -> None:
        self.text = "" if value is None else str(value)
        self.data = self.parse(self.text)

    def process_formdata(self, valuelist: list[str]) -> None:
        # A missing input reads as empty but shows its default (a method's place, say).
        if valuelist:
            self.text = valuelist[0]
        self.data = self.parse(valuelist[0] if valuelist else "")

    def _value(self) -> str:
        return self.text


class Colour(Typed):
    widget = ColorInput()


class Words(Typed):
    """Space-separated words (OAuth scopes)."""

    def parse(self, text: str) -> list[str]:
        return text.split()


class WholeNumber(Typed):
    """Years, hours or minutes: ``None`` when the text is not a whole number, so that the
    domain can say so next to the field."""

    def parse(self, text: str) -> int | None:
        text = text.strip()
        return int(text) if re.fullmatch(r"\d{1,5}", text) else None


class Place(Typed):
    """A login method's place on the login page: ``None`` (last) unless it is a number."""

    def parse(self, text: str) -> int | None:
        text = text.strip()
        return int(text) if text.isdecimal() else None


class Checkbox(BooleanField):
    """Sent as "on" when ticked, as a browser does for a box without a value; ticked by any
    value but a blank one."""

    def process_formdata(self, valuelist: list[str]) -> None:
        self.data = bool(valuelist and valuelist[0].strip())

    def _value(self) -> str:
        return "on"


class VersionNumber(HiddenField):
    """The version a form was filled in from; a missing or mangled one reads as 0."""

    def process_data(self, value: Any) -> None:
        self.data = value or 0

    def process_formdata(self, valuelist: list[str]) -> None:
        try:
            self.data = int(valuelist[0]) if valuelist else 0
        except ValueError:
            self.data = 0


BY_KIND = {"text": Typed, "colour": Colour, "int": WholeNumber, "bool": Checkbox, "list": Words}


class ConfigForm(FlaskForm):
    """The fields every region's configuration form has; ``_form_class`` adds the rest."""

    class Meta:
        csrf = False  # checked by CSRFProtect against the page's own csrf_token input

    base = VersionNumber()
    logo_path = HiddenField(name="branding.logo", id="branding-logo")
    logo = FileField(_l("Логотип (PNG, WebP или SVG, до 200 КБ)"))
    comment = StringField(_l("Комментарий к версии"), default="")
    kinds: tuple[str, ...] = ()
    fields: tuple[editing.Field, ...] = ()

    def groups(self) -> list[tuple[str, list]]:
        """The edited fields by group (its code: ``heading`` words it), in ``editing.FIELDS``
        order."""
        groups: dict[str, list] = {}
        for field in self.fields:
            groups.setdefault(field.group, []).append(self[field.path])
        return list(groups.items())

    @staticmethod
    def heading(group: str) -> str:
        """A group's heading, in the page's language."""
        return editing.group_heading(group)

    def methods(self) -> list[tuple[Checkbox, Place]]:
        """Each login method the region could offer: whether it is on, and its place."""
        return [(self[f"method.{kind}"], self[f"method.{kind}.position"]) for kind in self.kinds]


def _form_class(source: TenantConfig) -> type[ConfigForm]:
    fields: dict[str, Any] = {}
    edited = editing.fields_of(source)
    for field in edited:
        extra = {"render_kw": NUMERIC} if field.kind == "int" else {}
        fields[field.path] = BY_KIND[field.kind](
            field.label, id=field.path.replace(".", "-"), **extra
        )
    kinds = editing.available_methods(source)
    for place, kind in enumerate(kinds, 1):
        fields[f"method.{kind}"] = Checkbox(editing.method_label(source, kind), id=f"method-{kind}")
        fields[f"method.{kind}.position"] = Place(
            _l("Место на странице входа"), id=f"method-{kind}-position", default=str(place),
            render_kw=NUMERIC,
        )  # fmt: skip
    return type(
        "RegionConfigForm", (ConfigForm,), {**fields, "kinds": tuple(kinds), "fields": edited}
    )


def filled_config_form(source: TenantConfig, *, base: int) -> ConfigForm:
    """The form filled in from the region's configuration at version ``base``."""
    values = {**editing.form_values(source), "base": base}
    values["logo_path"] = values.pop("branding.logo")
    return _form_class(source)(formdata=None, data=values)


def submitted_config_form(source: TenantConfig) -> ConfigForm:
    """The form as the request submitted it: an input it left out reads as empty or unticked."""
    return _form_class(source)(formdata=CombinedMultiDict((request.files, request.form)))


class RestoreForm(FlaskForm):
    """Rolling back to an earlier version, from the history as it was at version ``base``."""

    class Meta:
        csrf = False  # checked by CSRFProtect against the page's own csrf_token input

    base = VersionNumber()
    # The first POST asks (a page listing what the rollback changes); only a ticked one acts.
    confirm = Checkbox()


class ErasureForm(FlaskForm):
    """The administrator's confirmation of a person's erasure request."""

    class Meta:
        csrf = False  # CSRFProtect checks every POST; the template carries the token

    reason = StringField(
        _l("Основание (номер и дата обращения)"),
        validators=[
            DataRequired(_l("Укажите основание: номер и дата обращения.")),
            Length(max=200),
        ],
    )
    confirm = BooleanField(
        _l("Я понимаю, что данные будут удалены безвозвратно"),
        validators=[DataRequired(_l("Подтвердите удаление."))],
    )
