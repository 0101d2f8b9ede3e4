"""The generation form: every field Akool's v4 create call accepts, validated per the protocol."""

import datetime
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.core.files.base import ContentFile

from . import budgets, source_links
from .lib import imaging
from .lib.ssrf import UnsafeURL, check_public_url
from .lib.storage import save_file
from .lib.text import one_line
from .models import (
    MODEL_FOR_MODE,
    PENDING_STATES,
    SETTLED_UNWELL,
    TAG_NAME_MAX,
    AuditAction,
    Board,
    Favourite,
    Generation,
    Membership,
    Mode,
    PromptPreset,
    Resolution,
    Role,
    Scale,
    State,
    Team,
    clean_tag_name,
    missing_message,
)
from .pricing import MAX_BATCH
from .search import QUERY_MAX, search_generations

PROMPT_MAX = 2000
UPLOAD_MAX_BYTES = 20 * 1024 * 1024
UPLOAD_MAX_PIXELS = 40_000_000
# Akool fetches JPG/JPEG/PNG sources.
UPLOAD_FORMATS = {"JPEG", "PNG"}

MODEL_CHOICES = [("", "Automatic (chosen from the mode)")] + [
    (name, name) for name in MODEL_FOR_MODE.values()
]


class GenerationForm(forms.Form):
    prompt = forms.CharField(
        max_length=PROMPT_MAX,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Describe the image you want.",
    )
    negative_prompt = forms.CharField(
        max_length=PROMPT_MAX,
        required=False,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Leave out",
        help_text="Things the image should not contain (optional).",
    )
    mode = forms.ChoiceField(choices=Mode.choices, initial=Mode.TEXT, widget=forms.RadioSelect)
    model_name = forms.ChoiceField(choices=MODEL_CHOICES, required=False, label="Model")
    scale = forms.ChoiceField(choices=Scale.choices, initial=Scale.SQUARE, label="Aspect ratio")
    resolution = forms.ChoiceField(
        choices=Resolution.choices, initial=Resolution.UHD, widget=forms.RadioSelect
    )
    batch = forms.IntegerField(min_value=1, max_value=MAX_BATCH, initial=1, label="Images")
    similar = forms.FloatField(
        min_value=0,
        max_value=1,
        required=False,
        initial=0.5,
        label="Similarity to source",
        widget=forms.NumberInput(attrs={"step": "0.05", "type": "range", "min": "0", "max": "1"}),
        help_text="0 = more creative, 1 = closer to the source image.",
    )
    source_url = forms.URLField(
        required=False,
        max_length=2000,
        label="Source image link",
        assume_scheme="https",
        help_text="A public http(s) link to a JPG or PNG.",
    )
    source_file = forms.FileField(
        required=False,
        label="…or upload a source image",
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg"}),
    )

    board = forms.ModelChoiceField(
        queryset=Board.objects.none(),
        required=False,
        to_field_name="code",
        empty_label="No board",
        label="Into board",
        help_text="The new images are put on this board too.",
    )
    # The team preset the form was filled from (views/studio.py `_prefill`), counted as used
    # when the generation starts; a deleted one is quietly dropped.
    preset = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, team, role=None, **kwargs):
        """`role`: the person's role in the team, to apply (and show) the team's role rules;
        None for callers that only validate the request itself."""
        self.team = team
        self.role = role
        super().__init__(*args, **kwargs)
        self.fields["board"].queryset = Board.objects.filter(team=team)
        if not self.is_bound:
            self.initial.setdefault("resolution", team.default_resolution)
        self.max_batch = self.fields["batch"].max_value
        if role is not None:
            self._mark_restricted(budgets.restricted_options(team, role))

    def _mark_restricted(self, restricted):
        """Say on the form what the role cannot use, and never preselect it."""
        if "resolution" in restricted:
            self.fields["resolution"].choices = [
                (value, f"{label} (not for your role)" if value == Resolution.UHD else label)
                for value, label in Resolution.choices
            ]
            self.fields["resolution"].help_text = restricted["resolution"]
            if not self.is_bound and self.initial.get("resolution", Resolution.UHD) == "4k":
                self.initial["resolution"] = Resolution.HD
        if "batch" in restricted:
            self.max_batch = 1
            self.fields["batch"].help_text = restricted["batch"]
            if not self.is_bound:
                self.initial["batch"] = 1
        if "mode" in restricted:
            self.fields["mode"].choices = [
                (value, f"{label} (not for your role)" if value == Mode.IMAGE else label)
                for value, label in Mode.choices
            ]
            self.fields["mode"].help_text = restricted["mode"]
            if not self.is_bound and self.initial.get("mode") == Mode.IMAGE:
                self.initial["mode"] = Mode.TEXT

    def clean_source_file(self):
        """A clean re-encoded copy of the upload (a ContentFile under a generated name): what
        is kept and later served is only ever the pixels, never the bytes someone sent."""
        upload = self.cleaned_data.get("source_file")
        if not upload:
            return upload
        if upload.size > UPLOAD_MAX_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size // (1024 * 1024)} MB; the limit is "
                f"{UPLOAD_MAX_BYTES // (1024 * 1024)} MB."
            )
        try:
            clean = imaging.reencode(upload, UPLOAD_FORMATS, UPLOAD_MAX_PIXELS)
        except imaging.InvalidImage as error:
            raise forms.ValidationError(str(error)) from None
        return ContentFile(clean.data, name=clean.name)

    def clean(self):
        data = super().clean()
        mode = data.get("mode")
        if mode == Mode.IMAGE:
            self._clean_source(data)
        else:
            # Image-to-image fields are hidden in text mode; whatever they hold is ignored.
            data["similar"] = None
            data["source_url"] = ""
            data["source_file"] = None
            if data.get("scale") == Scale.ORIGINAL:
                self.add_error(
                    "scale",
                    "“Original” keeps a source image's shape, so it needs image-to-image mode.",
                )
        self._clean_preset(data)
        model = data.get("model_name")
        if model and mode and model != MODEL_FOR_MODE[mode]:
            self.add_error("model_name", f"{model} does not do {Mode(mode).label.lower()}.")
        if self.role is not None:
            problems = budgets.role_problems(
                self.team,
                self.role,
                resolution=data.get("resolution"),
                batch=data.get("batch"),
                mode=mode,
            )
            for field, message in problems:
                if field not in self.errors:
                    self.add_error(field, message)
        return data

    def _clean_preset(self, data):
        code = data.get("preset")
        data["preset"] = code and PromptPreset.objects.filter(team=self.team, code=code).first()
        if not data["preset"] or "prompt" not in data:
            return
        unfilled = data["preset"].unfilled_in(data["prompt"], data.get("negative_prompt"))
        if unfilled:
            self.add_error("prompt", missing_message(unfilled))

    def _clean_source(self, data):
        url, upload = data.get("source_url"), data.get("source_file")
        if "source_url" in self.errors or "source_file" in self.errors:
            return
        if url and upload:
            self.add_error("source_file", "Give either a link or an upload, not both.")
        elif not url and not upload:
            self.add_error(
                "source_url", "Image-to-image needs a source image: paste a link or upload a file."
            )
        elif url and (own := source_links.source_for_url(url, self.team)):
            # One of the team's own images: a fresh link, so it outlives a form left open.
            data["source_url"] = source_links.url_for(own)
        elif url:
            # Sandbox teams too: the emulator refuses private links like Akool would.
            try:
                check_public_url(url)
            except UnsafeURL as error:
                self.add_error("source_url", str(error))
        elif upload and not self.team.is_sandbox and not settings.PUBLIC_BASE_URL:
            self.add_error(
                "source_file",
                "Uploads need the app to be reachable from the internet (PUBLIC_BASE_URL is "
                "not set), because Akool fetches the image from us. Paste a public link instead.",
            )
        if data.get("similar") is None:
            data["similar"] = 0.5

    def build(self, author):
        """The generation this form asks for, not stored yet (what budgets are checked on)."""
        data = self.cleaned_data
        return Generation(
            team=self.team,
            author=author,
            prompt=data["prompt"],
            negative_prompt=data["negative_prompt"],
            mode=data["mode"],
            model_name=data["model_name"],
            scale=data["scale"],
            resolution=data["resolution"],
            batch=data["batch"],
            similar=data["similar"],
            source_url=data["source_url"],
            preset=data.get("preset"),
        )

    def save(self, author):
        """Save the generation (and its upload). Raises storage.StorageUnavailable when the
        upload cannot be written; nothing is saved then."""
        data = self.cleaned_data
        generation = self.build(author)
        if data.get("source_file"):
            save_file(generation.source_upload, data["source_file"].name, data["source_file"])
        generation.save()
        if generation.source_upload:
            generation.source_url = source_links.url_for(generation)
            generation.save(update_fields=["source_url"])
        return generation


# --- budgets and role rules (team settings) --------------------------------------------------


class BudgetForm(forms.ModelForm):
    class Meta:
        model = Team
        fields = ["monthly_budget", "min_role_4k", "min_role_batch", "min_role_i2i"]
        labels = {
            "monthly_budget": "Monthly credit budget",
            "min_role_4k": "Who may make 4K images (and 4K upscales)",
            "min_role_batch": "Who may make more than one image at a time",
            "min_role_i2i": "Who may use image to image",
        }

    RULE_FIELDS = ("min_role_4k", "min_role_batch", "min_role_i2i")

    def __init__(self, *args, actor_role, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["monthly_budget"].widget.attrs.update(min=0, inputmode="numeric")
        if actor_role != Role.OWNER:
            # Like roles themselves, an admin cannot reach above their own rank: no owner-only
            # rules, and an owner-only rule an owner set stays as it is.
            for name in self.RULE_FIELDS:
                field = self.fields[name]
                if getattr(self.instance, name) == Role.OWNER:
                    field.disabled = True
                    field.help_text = "Set by an owner; only an owner can change it."
                else:
                    field.choices = [c for c in field.choices if c[0] != Role.OWNER]
        self.fields["monthly_budget"].help_text = (
            "Credits the whole team may use per calendar month in its time zone "
            f"({self.instance.time_zone}). Leave empty for no limit."
        )

    def changes(self):
        """{field: [old, new]} of what this save changes, for the audit log."""
        return {
            name: [self.initial.get(name), self.cleaned_data[name]] for name in self.changed_data
        }


class RetentionForm(forms.ModelForm):
    """How long deleted images stay restorable, and the team's retention policy (trash.py,
    retention.py)."""

    class Meta:
        model = Team
        fields = ["trash_days", "retention_days"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.update(min=1, inputmode="numeric")

    def changes(self):
        """{field: [old, new]} of what this save changes, for the audit log."""
        return {
            name: [self.initial.get(name), self.cleaned_data[name]] for name in self.changed_data
        }


class MemberCapForm(forms.Form):
    member = forms.EmailField()
    # The model field's bounds (what its database column holds), as a ModelForm would check.
    monthly_cap = Membership._meta.get_field("monthly_cap").formfield(
        label="Monthly cap",
        help_text="Credits this person may use per month; empty for no cap of their own.",
        validators=Membership._meta.get_field("monthly_cap").validators,
    )

    def __init__(self, team, *args, **kwargs):
        self.team = team
        super().__init__(*args, **kwargs)

    def clean_member(self):
        email = self.cleaned_data["member"]
        membership = (
            Membership.objects.filter(team=self.team, user__email__iexact=email)
            .select_related("user")
            .first()
        )
        if membership is None:
            raise forms.ValidationError(f"{email} is not a member of {self.team.name}.")
        return membership


# Calendar days the audit filter accepts: a day's start and the next day's, in any time zone,
# must be representable datetimes.
AUDIT_FIRST_DAY = datetime.date(1900, 1, 1)
AUDIT_LAST_DAY = datetime.date(9998, 12, 31)


def _within_audit_days(day):
    if not AUDIT_FIRST_DAY <= day <= AUDIT_LAST_DAY:
        raise forms.ValidationError(
            f"Pick a day between {AUDIT_FIRST_DAY:%Y-%m-%d} and {AUDIT_LAST_DAY:%Y-%m-%d}."
        )


def _audit_day(label):
    return forms.DateField(
        required=False,
        label=label,
        widget=forms.DateInput(
            attrs={
                "type": "date",
                "min": AUDIT_FIRST_DAY.isoformat(),
                "max": AUDIT_LAST_DAY.isoformat(),
            }
        ),
        validators=[_within_audit_days],
    )


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(choices=[("", "All actions"), *AuditAction.choices], required=False)
    actor = forms.CharField(required=False, max_length=254, label="Who (email)")
    since = _audit_day("From")
    until = _audit_day("Until")

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "“Until” must be on or after “From”.")
        return data


# --- gallery filters -------------------------------------------------------------------------


class GalleryFilters(forms.Form):
    """The gallery's filters, read from the querystring. A bad value is ignored, not an error:
    a shared link with a stale filter should still open the gallery."""

    q = forms.CharField(required=False, max_length=QUERY_MAX, label="Search prompts")
    who = forms.ChoiceField(
        required=False, label="Made by", choices=[("", "Everyone"), ("mine", "Me")]
    )
    status = forms.ChoiceField(
        required=False,
        label="Status",
        choices=[
            ("", "Any status"),
            ("done", "Done"),
            ("pending", "In progress"),
            ("failed", "Failed"),
        ],
    )
    mode = forms.ChoiceField(
        required=False, label="Mode", choices=[("", "Any mode"), *Mode.choices]
    )
    resolution = forms.ChoiceField(
        required=False, label="Resolution", choices=[("", "Any resolution"), *Resolution.choices]
    )
    fav = forms.BooleanField(required=False, label="Favourites")
    # A board's public code; a board of another team matches none of this team's images.
    board = forms.UUIDField(required=False, label="Board")
    tag = forms.CharField(required=False, max_length=TAG_NAME_MAX, label="Tag")

    NAMES = ("q", "who", "status", "mode", "resolution", "fav", "board", "tag")

    def __init__(self, data):
        super().__init__({k: data.get(k) for k in self.NAMES if data.get(k) is not None})
        self.is_valid()
        self.values = {
            name: self.cleaned_data.get(name)
            for name in self.NAMES
            if self.cleaned_data.get(name) not in (None, "", False)
        }
        if "board" in self.values:
            self.values["board"] = str(self.values["board"])
        if "tag" in self.values:
            self.values["tag"] = clean_tag_name(self.values["tag"])
            if not self.values["tag"]:
                del self.values["tag"]
        if "q" in self.values:
            self.values["q"] = one_line(self.values["q"])
            if not self.values["q"]:
                del self.values["q"]

    @property
    def active(self):
        return bool(self.values)

    def items(self):
        return [(k, "1" if v is True else v) for k, v in self.values.items()]

    @property
    def query(self):
        """The active filters as a querystring (no leading "?"), in a stable order."""
        return urlencode(self.items())

    def apply(self, jobs, user):
        v = self.values
        if v.get("who") == "mine":
            jobs = jobs.filter(author=user)
        status = v.get("status")
        if status == "done":
            jobs = jobs.filter(state=State.DONE)
        elif status == "pending":
            jobs = jobs.filter(state__in=PENDING_STATES)
        elif status == "failed":
            jobs = jobs.filter(state__in=SETTLED_UNWELL)
        if v.get("mode"):
            jobs = jobs.filter(generation__mode=v["mode"])
        if v.get("resolution"):
            jobs = jobs.filter(generation__resolution=v["resolution"])
        if v.get("fav"):
            # From the person's (few) favourites, not a favourite lookup per gallery row: the
            # latter costs a walk over the whole team's gallery.
            jobs = jobs.filter(pk__in=Favourite.objects.filter(user=user).values("job_id"))
        if v.get("board"):
            jobs = jobs.filter(board_entries__board__code=v["board"])
        if v.get("tag"):
            jobs = jobs.filter(tag_entries__tag__name__iexact=v["tag"])
        if v.get("q"):
            jobs = search_generations(jobs, v["q"], prefix="generation__")
        return jobs
