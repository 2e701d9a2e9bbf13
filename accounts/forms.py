from crispy_forms.helper import FormHelper
from crispy_forms.layout import Fieldset, Layout, Submit
from django import forms

from accounts.models import TIMEZONE_CHOICES, ApiToken, User
from accounts.services import TOKEN_EXPIRY_MAX_DAYS

DIGEST_HOURS = [(hour, f"{hour:02d}:00") for hour in range(24)]


class ProfileForm(forms.ModelForm):
    timezone = forms.ChoiceField(choices=TIMEZONE_CHOICES)
    digest_hour = forms.TypedChoiceField(
        label="Send it at",
        choices=DIGEST_HOURS,
        coerce=int,
        empty_value=None,
        required=False,
        help_text="Your time, in the timezone above.",
    )

    class Meta:
        model = User
        fields = ["first_name", "last_name", "timezone", "digest_enabled", "digest_hour"]
        labels = {"digest_enabled": "Email me a daily digest"}
        # WCAG 1.3.5: browsers and assistive tools can fill in and mark the person's name.
        widgets = {
            "first_name": forms.TextInput(attrs={"autocomplete": "given-name"}),
            "last_name": forms.TextInput(attrs={"autocomplete": "family-name"}),
        }
        help_texts = {
            "digest_enabled": (
                "Today's tasks, overdue ones, leads waiting on you and deals closing this "
                "week. Nothing to say, no email."
            )
        }

    def clean_digest_hour(self) -> int:
        # Left out of the post (an older form, a script): keep the hour as it was.
        hour = self.cleaned_data.get("digest_hour")
        return self.instance.digest_hour if hour is None else hour

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.helper = FormHelper()
        self.helper.layout = Layout(
            "first_name",
            "last_name",
            "timezone",
            Fieldset("Daily digest", "digest_enabled", "digest_hour"),
        )
        self.helper.add_input(Submit("save", "Save profile"))


class ApiTokenForm(forms.Form):
    """A new personal access token: what it is for, what it may do, how long it lives."""

    name = forms.CharField(
        label="Token name",
        max_length=100,
        help_text="What it is for, e.g. “Website sync”.",
        strip=True,
    )
    scope = forms.ChoiceField(
        choices=ApiToken.Scope.choices,
        initial=ApiToken.Scope.READ,
        help_text="Read only looks; read and write may also create and change leads.",
    )
    expires_days = forms.IntegerField(
        label="Expires after (days)",
        required=False,
        min_value=1,
        max_value=TOKEN_EXPIRY_MAX_DAYS,
        help_text="Empty: until you revoke it.",
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.helper = FormHelper()
        self.helper.form_action = "api_token_create"
        self.helper.add_input(Submit("create", "Create token"))
