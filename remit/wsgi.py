import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "remit.settings")
application = get_wsgi_application()

# The URLconf and templates loaded now, not by the first requests (remit/core/warmup.py).
from remit.core.warmup import warm_up  # noqa: E402

warm_up()
