from flask_wtf import FlaskForm
from wtforms import SearchField
from wtforms.validators import Length, Optional

from app.i18n import lazy_gettext as _l


class RegionFilterForm(FlaskForm):
    q_max = 60
    q = SearchField(_l("Найти регион"), validators=[Optional(), Length(max=q_max)])
