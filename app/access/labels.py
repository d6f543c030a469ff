"""The words for the decision's roles and matching fields, as people read them on every page
that names one (the role choice, the diary, account settings, the school's queue)."""

from .decision import RoleKind

ROLE_LABELS = {
    RoleKind.STUDENT.value: "Ученик",
    RoleKind.GUARDIAN.value: "Родитель",
    RoleKind.TEACHER.value: "Педагогический работник",
    RoleKind.SCHOOL_ADMIN.value: "Администратор ОО",
    RoleKind.ADMIN.value: "Региональный администратор",
    RoleKind.TRUSTED.value: "Доверенное лицо",
}

FIELD_LABELS = {
    "full_name": "фамилия, имя или отчество",
    "snils": "СНИЛС",
    "birth_date": "дата рождения",
    "email": "адрес электронной почты",
    "phone": "номер мобильного телефона",
}
