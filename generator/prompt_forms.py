"""Forms about prompts that are not the generation form: team presets, and the team's
moderation list with its test box. (A preset's variables are plain inputs in the generation
form, read by views/studio.py `fill_variables`.)"""

import copy

from django import forms

from . import moderation
from .forms import GenerationForm
from .models import PRESET_NAME_MAX, PromptPreset, Team


def _shared(name, **attrs):
    """A copy of a generation form field, so this form accepts exactly what it accepts."""
    field = copy.deepcopy(GenerationForm.base_fields[name])
    for attr, value in attrs.items():
        setattr(field, attr, value)
    return field


class PresetForm(forms.ModelForm):
    # The generation form's own fields and choices (one definition of what is valid).
    prompt = GenerationForm.base_fields["prompt"]
    negative_prompt = GenerationForm.base_fields["negative_prompt"]
    mode = GenerationForm.base_fields["mode"]
    scale = GenerationForm.base_fields["scale"]
    resolution = GenerationForm.base_fields["resolution"]
    batch = GenerationForm.base_fields["batch"]

    class Meta:
        model = PromptPreset
        fields = ["name", "prompt", "negative_prompt", "mode", "scale", "resolution", "batch"]

    def __init__(self, *args, team, **kwargs):
        self.team = team
        super().__init__(*args, **kwargs)
        self.fields["name"].widget.attrs.update(maxlength=PRESET_NAME_MAX)
        self.fields["prompt"].help_text = (
            "Write {subject} (a word in braces) wherever the person using the preset should "
            "fill something in."
        )
        if not self.is_bound and not self.instance.pk:
            self.initial.setdefault("resolution", team.default_resolution)

    def clean_name(self):
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError("Give the preset a name.")
        taken = PromptPreset.objects.filter(team=self.team, name__iexact=name)
        if self.instance.pk:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError(f"This team already has a preset called “{name}”.")
        return name

    def clean(self):
        data = super().clean()
        # Presets hold text-to-image and image-to-image settings alike; the source image is
        # chosen when the preset is used. "Original" only makes sense with a source.
        if data.get("mode") == "t2i" and data.get("scale") == "Original":
            self.add_error(
                "scale", "“Original” keeps a source image's shape, so it needs image-to-image mode."
            )
        return data


class BlockedPhrasesForm(forms.ModelForm):
    class Meta:
        model = Team
        fields = ["blocked_phrases"]
        widgets = {"blocked_phrases": forms.Textarea(attrs={"rows": 6})}

    def clean_blocked_phrases(self):
        text = self.cleaned_data["blocked_phrases"]
        too_long = [p for p in moderation.parse_phrases(text) if len(p) > moderation.PHRASE_MAX]
        if too_long:
            raise forms.ValidationError(
                f"“{too_long[0][:40]}…” is longer than {moderation.PHRASE_MAX} characters: "
                "list words and short phrases, one a line."
            )
        # Stored as the admin typed it (one a line, tidied): matching normalises anyway.
        lines = [" ".join(line.split()) for line in text.splitlines()]
        return "\n".join(line for line in lines if line)


class ModerationTestForm(forms.Form):
    prompt = _shared("prompt", help_text="Nothing is sent to Akool and nothing is logged.")
    negative_prompt = _shared("negative_prompt", help_text="")
