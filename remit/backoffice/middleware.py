from django.http import Http404

from remit.backoffice.access import is_backoffice_staff


class BackofficeAccessMiddleware:
    """Client users get a 404 from every back-office URL, the sign-in page included: the back office
    does not exist for them. (Anonymous visitors are sent to the back-office sign-in by the site.)"""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if match is None or "admin" not in match.namespaces:
            return None
        user = request.user
        if user.is_authenticated and not is_backoffice_staff(user):
            raise Http404("No such page.")
        return None
