"""What a person who is not in yet posts to a school: the join request of «Профиль
обучающегося» (P7) and the mismatch report of «Дневник не найден» (P3).

These forms only read the post. Whether the school may be asked and what may be sent is
decided by ``app.schools.requests``, whose refusal is the one message the page shows, so no
field here refuses anything: an unknown school is None, an unknown field to share is dropped
there.
"""

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectMultipleField, StringField, TextAreaField

from app.i18n import lazy_gettext as _l
from app.models.base import db_id


def _school_field() -> RadioField:
    # The choices are the search results or the schools holding the record, known only when
    # the page is drawn; the posted value is an id or nothing.
    return RadioField(_l("Образовательная организация"), coerce=db_id, validate_choice=False)


class JoinRequestForm(FlaskForm):
    class Meta:
        csrf = False  # CSRFProtect checks every POST; the template carries the token

    school = _school_field()
    class_name = StringField(_l("Класс (если знаете)"), default="")


class MismatchReportForm(FlaskForm):
    class Meta:
        csrf = False  # CSRFProtect checks every POST; the template carries the token

    school = _school_field()
    # The legend, with the provider's name put in: «Приложить мои данные из Госуслуг».
    share = SelectMultipleField(
        _l("Приложить мои данные из %(provider)s"), default=(), validate_choice=False
    )
    comment = TextAreaField(_l("Комментарий для школы (необязательно)"), default="")
