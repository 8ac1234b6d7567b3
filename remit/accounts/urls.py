from django.contrib.auth import views as auth_views
from django.http import HttpResponseRedirect
from django.urls import path, reverse_lazy

from remit.accounts import client_mfa
from remit.accounts.forms import ResetPasswordForm, SignInForm
from remit.accounts.invites import InviteAcceptView


class PasswordResetView(auth_views.PasswordResetView):
    subject_template_name = "registration/password_reset_subject.txt"
    email_template_name = "registration/password_reset_email.txt"
    success_url = reverse_lazy("password_reset_done")
    form_class = ResetPasswordForm

    def form_valid(self, form):
        form.save(request=self.request)  # queued: remit.outbox (the email is built by the worker)
        return HttpResponseRedirect(self.get_success_url())


urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            authentication_form=SignInForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("login/code/", client_mfa.login_code, name="login_mfa"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/", client_mfa.account, name="account"),
    path("account/two-step/set-up/", client_mfa.mfa_setup, name="account_mfa_setup"),
    path(
        "account/two-step/recovery-codes/",
        client_mfa.recovery_codes,
        name="account_recovery_codes",
    ),
    path("account/two-step/turn-off/", client_mfa.mfa_disable, name="account_mfa_disable"),
    path(
        "password-reset/",
        PasswordResetView.as_view(),
        name="password_reset",
    ),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            success_url=reverse_lazy("password_reset_complete")
        ),
        name="password_reset_confirm",
    ),
    path("invite/<uidb64>/<token>/", InviteAcceptView.as_view(), name="invite_accept"),
    path(
        "password-reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]
