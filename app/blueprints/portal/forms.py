from flask_wtf import FlaskForm
from wtforms import SearchField
from wtforms.validators import Length, Optional


class RegionFilterForm(FlaskForm):
    q = SearchField("Найти регион", validators=[Optional(), Length(max=60)])
