def portal(request):
    user = getattr(request, "user", None)
    return {
        "provider": getattr(request, "provider", None),
        "can_view_financials": bool(user and user.is_authenticated and user.can_view_financials),
    }
