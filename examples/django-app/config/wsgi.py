"""The WSGI application gunicorn serves (`gunicorn config.wsgi:application`, the task definition's command)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()
