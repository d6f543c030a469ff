"""The school side: the region's registry import (``registry``), what a school administrator
may see and do (``staff``), and people's requests to their school with the administrator's
queue (``requests``: joining a school, a mismatch in the school's record)."""
