"""The invitation wizard's steps as forms: what each step accepts from the parent, and the
words it answers with when that is not enough."""

from collections.abc import Sequence

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, SelectMultipleField, StringField
from wtforms.validators import AnyOf, DataRequired, ValidationError

from app import trusted
from app.diary import Student
from app.i18n import gettext as _
from app.i18n import lazy_gettext as _l
from app.identity.types import normalize_phone, normalize_snils
from app.models.base import db_id
from app.schools.registry import snils_is_valid

CONTACT_KINDS = {"phone": _l("Номер мобильного телефона"), "snils": _l("СНИЛС")}


def _choices(names: dict) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in names.items()]


def _known_kind(value: str | None) -> str:
    return value if value in CONTACT_KINDS else "phone"


def _clipped(length: int):
    return lambda value: (value or "").strip()[:length]


class StepForm(FlaskForm):
    """A step of the wizard, from what was ``posted`` or else from the wizard's ``state``.
    ``offered`` are the parent's children, for the step that chooses among them."""

    class Meta:
        csrf = False  # CSRFProtect checks every POST; the templates carry its token

    def __init__(self, posted=None, *, state: dict | None = None, offered: Sequence[Student] = ()):
        super().__init__(posted, data=state if posted is None else None)

    def save(self, state: dict) -> bool:
        """Validate into the wizard's state. What was chosen is remembered even when refused,
        so that the wizard cannot go on past a step that now fails."""
        valid = self.validate()
        state.update(self.data)
        return valid


class ServiceForm(StepForm):
    service = RadioField(
        choices=_choices(trusted.SERVICES),
        validate_choice=False,
        validators=[AnyOf(list(trusted.SERVICES), message=_l("Выберите услугу."))],
    )

    def save(self, state: dict) -> bool:
        """Only a service on offer is remembered: the review shows its name."""
        if not self.validate():
            return False
        state.update(self.data)
        return True


class ChildrenForm(StepForm):
    """An id that is not one of the ``offered`` children is dropped as if never sent."""

    children = SelectMultipleField(
        coerce=db_id,
        validate_choice=False,
        validators=[DataRequired(_l("Выберите ребенка (детей)."))],
    )

    def __init__(self, posted=None, *, state: dict | None = None, offered: Sequence[Student] = ()):
        self.offered = {child.id: child.full_name for child in offered}
        super().__init__(posted, state=state)
        self.children.choices = [SelectChoice(str(i), name) for i, name in self.offered.items()]

    def filter_children(self, ids: list[int | None] | None) -> list[int]:
        return [i for i in ids or () if i in self.offered]


class InviteForm(StepForm):
    by = RadioField(choices=_choices(CONTACT_KINDS), validate_choice=False, filters=[_known_kind])
    contact = StringField(filters=[_clipped(32)])
    surname = StringField(filters=[_clipped(100)])

    def save(self, state: dict) -> bool:
        """A new search forgets whoever the last one found."""
        state["invitee_id"] = None
        return super().save(state)

    def validate_contact(self, field: StringField) -> None:
        if self.by.data == "snils":
            digits = normalize_snils(field.data)
            if not (digits and snils_is_valid(digits)):
                raise ValidationError(
                    _("Проверьте СНИЛС: 11 цифр, контрольное число должно сходиться.")
                )
        elif len(normalize_phone(field.data) or "") != 11:
            raise ValidationError(_("Укажите номер мобильного телефона: +7 и десять цифр."))

    def validate_surname(self, field: StringField) -> None:
        # Not DataRequired: its flag renders `required`, and the browser would answer first.
        if not field.data:
            raise ValidationError(_("Укажите фамилию доверенного лица."))
