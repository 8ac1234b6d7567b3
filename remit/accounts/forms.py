from collections.abc import Iterator

from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm

from remit.accounts.emails import normalise_email
from remit.accounts.models import User


class SignInForm(AuthenticationForm):
    """Client sign-in by email. Provider staff sign in to the back office instead."""

    username = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That email and password do not match an account. Please try again.",
        "staff": "Provider staff sign in to the back office.",
    }

    def confirm_login_allowed(self, user) -> None:
        super().confirm_login_allowed(user)
        if not user.is_client:
            raise forms.ValidationError(self.error_messages["staff"], code="staff")


class ResetPasswordForm(PasswordResetForm):
    """ "Forgot password": the address is found in its normal form, as sign-in finds it."""

    def get_users(self, email: str) -> Iterator[User]:
        users = User.objects.filter(email=normalise_email(email), is_active=True)
        return (user for user in users if user.has_usable_password())

    def save(self, *, request=None, **kwargs) -> None:
        """Queued through the outbox, not sent by the web request: a mail server that is down
        neither fails the page nor loses the email (it is retried; its token is made at each
        attempt). The page looks the same whether or not the address is known."""
        from remit.outbox.models import EmailKind
        from remit.outbox.services import email_queue

        base_url = request.build_absolute_uri("/") if request is not None else "/"
        for user in self.get_users(self.cleaned_data["email"]):
            email_queue(EmailKind.PASSWORD_RESET, user=user, base_url=base_url)
