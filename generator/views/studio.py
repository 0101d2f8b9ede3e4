"""The team studio: the generation form beside the live gallery."""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import push_url

from .. import budgets, moderation, source_links
from ..access import team_access, team_context
from ..forms import GenerationForm
from ..lib.storage import StorageUnavailable
from ..models import (
    VARIABLE_VALUE_MAX,
    Generation,
    Job,
    Mode,
    PromptHistory,
    PromptPreset,
    Role,
    Scale,
    State,
    missing_message,
)
from ..pricing import ESTIMATE_NOTE, estimate_credits
from ..starters import start_generation
from .boards import gallery_boards
from .gallery import gallery_context, new_cards_response
from .images import can_use_as_source
from .shares import share_form_for

# After a generation starts the form keeps everything but an upload (a file input cannot be
# filled again): people refine a prompt more often than they start over (Clear empties it).
KEPT_AFTER_SUBMIT = [name for name in GenerationForm.base_fields if name != "source_file"]


def _uuid(value):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _prefill(request, team):
    """Initial values, with a note, from ?rerun=<generation code> (or ?from=<image code>: that
    image's generation), ?source=<image code>, ?history=<entry code> (the caller's own) or
    ?preset=<team preset code> (with its variables as ?var_<name>=…)."""
    rerun, source = _uuid(request.GET.get("rerun")), _uuid(request.GET.get("source"))
    image, entry = _uuid(request.GET.get("from")), _uuid(request.GET.get("history"))
    preset = _uuid(request.GET.get("preset"))
    if preset:
        preset = PromptPreset.objects.filter(team=team, code=preset).first()
        if preset:
            return _from_preset(request, preset)
    if image and not rerun:
        rerun = (
            Job.objects.kept()
            .filter(team=team, code=image)
            .values_list("generation__code", flat=True)
            .first()
        )
    if rerun:
        generation = Generation.objects.filter(team=team, code=rerun).first()
        if generation:
            initial = {
                **generation.parameters,
                "similar": generation.similar if generation.similar is not None else 0.5,
                # Our own links expire; a fresh signature keeps the source usable.
                "source_url": source_links.refresh(generation.source_url, team),
            }
            return initial, "The form holds the settings of that image: adjust and generate."
    if source and can_use_as_source(team):
        job = Job.objects.kept().filter(team=team, code=source, state=State.DONE).first()
        if job:
            initial = {
                "mode": Mode.IMAGE,
                "source_url": source_links.url_for(job),
                "scale": Scale.ORIGINAL,
                "similar": 0.5,
            }
            return initial, "Image-to-image with that image as the source: describe the change."
    if entry:
        used = PromptHistory.objects.of(request.user, team).filter(code=entry).first()
        if used:
            initial = used.parameters
            if initial["similar"] is None:
                initial["similar"] = 0.5
            note = "The form holds that prompt and its settings: adjust and generate."
            if used.mode == Mode.IMAGE:
                note = "The form holds that prompt and its settings: add a source image."
            return initial, note
    return {}, ""


def _from_preset(request, preset):
    """The preset's settings, its texts filled with the ?var_<name> values given; variables
    without a value stay in braces, for the form's variables box to ask for."""
    initial = preset.filled_partly(
        {name: request.GET.get(f"var_{name}") for name in preset.variables}
    )
    initial["preset"] = preset.code
    note = ""
    if not preset.unfilled_in(initial["prompt"], initial["negative_prompt"]):
        note = f"The form holds the preset “{preset.name}”: adjust and generate."
    if initial["mode"] == Mode.IMAGE:
        initial["similar"] = 0.5
        note = note and f"The form holds the preset “{preset.name}”: add a source image."
    return initial, note


def preset_box(form, team):
    """The preset the form was filled from and the variables its prompt still holds (the
    variables box above the prompt asks for them), or None."""
    code = _uuid(form["preset"].value())
    preset = code and PromptPreset.objects.filter(team=team, code=code).first()
    if not preset:
        return None
    unfilled = preset.unfilled_in(form["prompt"].value(), form["negative_prompt"].value())
    if not unfilled:
        return {"preset": preset, "unfilled": []}
    return {
        "preset": preset,
        "unfilled": unfilled,
        "message": missing_message(unfilled),
        "value_max": VARIABLE_VALUE_MAX,
    }


def _dress(form):
    """Presentation-only attributes for the shared form's widgets."""
    prompt = form.fields["prompt"].widget
    prompt.attrs.update(
        placeholder="A lighthouse on a cliff at dawn, watercolour", rows=4, maxlength=2000
    )
    form.fields["negative_prompt"].widget.attrs.update(placeholder="text, watermark, blur")
    form.fields["source_url"].widget.attrs.update(placeholder="https://…/photo.jpg")
    form.fields["batch"].widget.attrs.update(min=1, max=form.max_batch, inputmode="numeric")
    return form


def form_context(form, team, notice=""):
    mode = form["mode"].value() or Mode.TEXT
    source = source_links.source_for_url(form["source_url"].value() or "", team)
    source_job = source if isinstance(source, Job) else None
    advanced_open = bool(form["model_name"].errors or form["negative_prompt"].errors)
    # The phone's settings sheet opens by itself when a setting has an error to show.
    settings_open = any(form[name].errors for name in form.fields if name != "prompt")
    return {
        "form": _dress(form),
        "mode": mode,
        "estimate": estimate_credits(form["resolution"].value(), form["batch"].value()),
        "estimate_note": ESTIMATE_NOTE,
        "source_job": source_job,
        "advanced_open": advanced_open
        or bool(form["model_name"].value() or form["negative_prompt"].value()),
        "settings_open": settings_open,
        "form_notice": notice,
        "budget": budgets.team_usage(team),
        "preset_box": preset_box(form, team),
    }


def _gallery(request):
    """The gallery's context, with the team's boards and tags for its filters and bulk bar."""
    context = gallery_context(request, request.GET.get("before"))
    context.update(gallery_boards(request.membership.team, context["filters"]))
    if context["board"]:
        context["share_form"] = share_form_for(request.membership, board=context["board"])
    return context


def _page(request, form=None, notice=""):
    membership = request.membership
    team = membership.team
    context = _gallery(request)
    if context["can_generate"]:
        if form is None:
            initial, notice = _prefill(request, team)
            # On a board's page new images go on that board unless the person says otherwise.
            initial.setdefault("board", context["filters"].values.get("board"))
            form = GenerationForm(team=team, role=membership.role, initial=initial)
        context.update(form_context(form, team, notice))
    if membership.is_admin:
        usage = context.get("budget") or budgets.team_usage(team)
        context["budget_warning"] = usage if usage.warn else None
    return context


@vary_on_headers("HX-Request")
@require_GET
@login_required
def studio(request, team_code):
    """The studio page; with htmx (the filter form) just the gallery, with its URL pushed."""
    team_access(request, team_code)
    if (
        request.htmx
        and request.htmx.target == "gallery"
        and not request.htmx.history_restore_request
    ):
        context = _gallery(request)
        response = render(request, "generator/studio.html#gallery", context)
        push_url(response, f"{context['studio_url']}{context['filter_query']}")
        return response
    return render(request, "generator/studio.html", _page(request))


@vary_on_headers("HX-Request")
@require_POST
@login_required
def generate(request, team_code):
    """Validate and start a generation. Errors come back in the form (status 200, like every
    form here); with htmx the answer is the fresh form plus the new pending cards."""
    membership = team_access(request, team_code, Role.MEMBER)
    team = membership.team
    form = GenerationForm(request.POST, request.FILES, team=team, role=membership.role)
    valid = form.is_valid()
    if valid and team.credentials_problem():
        form.add_error(None, team.credentials_problem())
        valid = False
    generation = jobs = None
    if valid:
        try:
            # The budget is checked before anything is saved, so a refused request stores
            # no upload.
            jobs = start_generation(
                form.build(request.user),
                save=lambda: form.save(request.user),
                board=form.cleaned_data.get("board"),
            )
            generation = jobs[0].generation
        except (
            budgets.BudgetExceeded,
            budgets.RoleNotAllowed,
            moderation.PromptBlocked,
        ) as refusal:
            form.add_error(None, str(refusal))
            valid = False
        except StorageUnavailable as error:
            form.add_error("source_file", str(error))
            valid = False
    if not valid:
        if request.htmx:
            context = team_context(request, **form_context(form, team))
            return render(request, "generator/studio.html#generate-form", context)
        return render(request, "generator/studio.html", _page(request, form))
    count = len(jobs)
    started = (
        f"Started {count} images — they appear at the top of the gallery."
        if count != 1
        else "Started 1 image — it appears at the top of the gallery."
    )
    if not request.htmx:
        messages.success(request, started)
        return redirect("studio", team.code)
    kept = {name: form.cleaned_data.get(name) for name in KEPT_AFTER_SUBMIT}
    if generation.source_upload:
        kept["source_url"] = ""
    kept["preset"] = generation.preset.code if generation.preset else None
    fresh = GenerationForm(team=team, role=membership.role, initial=kept)
    context = team_context(request, **form_context(fresh, team, started))
    main = render_to_string("generator/studio.html#generate-form", context, request=request)
    for job in jobs:
        job.generation = generation
        job.author = request.user
    return new_cards_response(request, jobs, main=main)


@vary_on_headers("HX-Request")
@require_POST
@login_required
def fill_variables(request, team_code):
    """The generation form as posted, with the posted var_<name> values written into its
    preset's {variables}; those left empty stay in braces and are asked for again. Nothing
    starts."""
    membership = team_access(request, team_code, Role.MEMBER)
    team = membership.team
    data = {name: request.POST.get(name, "") for name in KEPT_AFTER_SUBMIT}
    preset = PromptPreset.objects.filter(team=team, code=_uuid(data["preset"])).first()
    notice = ""
    if preset:
        values = {name: request.POST.get(f"var_{name}", "") for name in preset.variables}
        for name in ("prompt", "negative_prompt"):
            data[name] = preset.fill_text(data[name], values)
        if not preset.unfilled_in(data["prompt"], data["negative_prompt"]):
            notice = f"The preset “{preset.name}” is filled in: adjust and generate."
    form = GenerationForm(team=team, role=membership.role, initial=data)
    context = team_context(request, **form_context(form, team, notice))
    if request.htmx:
        return render(request, "generator/studio.html#generate-form", context)
    return render(request, "generator/studio.html", _page(request, form, notice))


@require_GET
@login_required
def estimate(request, team_code):
    """The cost line under the form, recomputed when resolution or batch changes."""
    team_access(request, team_code, Role.MEMBER)
    context = team_context(
        request,
        estimate=estimate_credits(request.GET.get("resolution"), request.GET.get("batch")),
        estimate_note=ESTIMATE_NOTE,
    )
    return render(request, "generator/studio.html#estimate", context)


@vary_on_headers("HX-Request")
@require_GET
@login_required
def generate_form(request, team_code):
    """The generation form filled in by `_prefill` (a re-run, a prompt from the history), for
    htmx to swap in place; without htmx, the studio page with the same form."""
    membership = team_access(request, team_code, Role.MEMBER)
    team = membership.team
    if not request.htmx:
        return redirect(f"{reverse('studio', args=[team.code])}?{request.GET.urlencode()}")
    initial, notice = _prefill(request, team)
    form = GenerationForm(team=team, role=membership.role, initial=initial)
    context = team_context(request, **form_context(form, team, notice))
    return render(request, "generator/studio.html#generate-form", context)
