"""Team boards (collections of the team's images), and the boards and tags of one image."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from .. import audit
from ..access import team_access, team_context
from ..models import Board, JobTag, Role, State, Tag, clean_tag_name, kept
from .bulk import parse_codes
from .gallery import team_job
from .images import detail_context


class BoardForm(forms.ModelForm):
    class Meta:
        model = Board
        fields = ["name", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}
        help_texts = {"description": "What the board collects (optional)."}

    def __init__(self, *args, team, **kwargs):
        self.team = team
        super().__init__(*args, **kwargs)

    def clean_name(self):
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError("Give the board a name.")
        taken = Board.objects.filter(team=self.team, name__iexact=name)
        if self.instance.pk:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError(f"This team already has a board called “{name}”.")
        return name


def board_url(board):
    return f"{reverse('studio', args=[board.team.code])}?board={board.code}"


def gallery_boards(team, filters):
    """What the studio's filters, bulk bar and board header need: the team's boards, its
    tag names (the tag fields' autocomplete) and the board the gallery shows, if any."""
    boards = list(Board.objects.filter(team=team))
    code = filters.values.get("board")
    return {
        "boards": boards,
        "tag_names": Tag.objects.names(team),
        "board": next((b for b in boards if str(b.code) == code), None),
    }


@require_GET
@login_required
def board_list(request, team_code):
    membership = team_access(request, team_code)
    return render(request, "generator/boards.html", _list_context(request, membership))


def _list_context(request, membership, form=None):
    boards = Board.objects.filter(team=membership.team).annotate(
        images=Count("entries", filter=kept("entries__job__"))
    )
    if form is None and membership.can_edit:
        form = BoardForm(team=membership.team)
    return team_context(request, boards=boards, form=form)


@require_POST
@login_required
def board_create(request, team_code):
    membership = team_access(request, team_code, Role.MEMBER)
    form = BoardForm(request.POST, team=membership.team)
    if form.is_valid():
        form.instance.team = membership.team
        form.instance.created_by = request.user
        try:
            with transaction.atomic():
                board = form.save()
        except IntegrityError:
            form.add_error("name", "This team already has a board with that name.")
        else:
            messages.success(request, f"Board “{board.name}” created.")
            return redirect(board_url(board))
    return render(request, "generator/boards.html", _list_context(request, membership, form))


def _board(membership, board_code):
    return get_object_or_404(
        Board.objects.select_related("team"), team=membership.team, code=board_code
    )


@require_POST
@login_required
def board_edit(request, team_code, board_code):
    """Rename or describe a board."""
    membership = team_access(request, team_code, Role.MEMBER)
    board = _board(membership, board_code)
    form = BoardForm(request.POST, instance=board, team=membership.team)
    if form.is_valid():
        try:
            with transaction.atomic():
                form.save()
        except IntegrityError:
            messages.error(request, "This team already has a board with that name.")
        else:
            messages.success(request, "Board saved.")
    else:
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
    board.refresh_from_db()
    return redirect(board_url(board))


@require_POST
@login_required
def board_delete(request, team_code, board_code):
    """Delete a board; its images stay in the gallery."""
    membership = team_access(request, team_code, Role.MEMBER)
    board = _board(membership, board_code)
    with transaction.atomic():
        images = board.entries.count()
        others = board.jobs.exclude(author=request.user).count()
        board.delete()
        if others or board.created_by_id != request.user.pk:
            audit.record(
                request.user,
                membership.team,
                audit.AuditAction.BOARD_DELETED,
                target=f"board {board.name}",
                images=images,
                others_images=others,
            )
    messages.success(request, f"Board “{board.name}” deleted; its images stay in the gallery.")
    return redirect("board_list", membership.team.code)


def _audit_for_others(request, team, job, action, **details):
    """Boards and tags are the team's: a change to someone else's image is logged."""
    if job.author_id != request.user.pk:
        audit.record(request.user, team, action, target=f"image {job.code}", **details)


@vary_on_headers("HX-Request")
@require_POST
@login_required
def image_boards(request, team_code, job_code):
    """Put one image on, or take it off, the team's boards: `boards` are the ticked boards,
    `shown` every board the form listed (a board made since stays as it is); members and up,
    as the bulk bar's "Add to board"."""
    membership = team_access(request, team_code, Role.MEMBER)
    team = membership.team
    job = team_job(team, job_code, state=State.DONE)
    shown = set(parse_codes(request.POST.getlist("shown")))
    wanted = set(parse_codes(request.POST.getlist("boards")))
    with transaction.atomic():
        added, removed = [], []
        for board in Board.objects.for_image(team, job).filter(code__in=shown):
            if board.code in wanted and not board.has_image:
                board.add_jobs([job], request.user)
                added.append(board.name)
            elif board.code not in wanted and board.has_image and board.remove_job(job):
                removed.append(board.name)
        for name in added:
            _audit_for_others(request, team, job, audit.AuditAction.BOARD_IMAGES, board=name)
        for name in removed:
            _audit_for_others(request, team, job, audit.AuditAction.BOARD_IMAGE_REMOVED, board=name)
    notice = _boards_notice(added, removed)
    if not request.htmx:
        messages.success(request, notice)
        return redirect("image_detail", team.code, job.code)
    context = detail_context(request, job, True)
    context["boards_notice"] = notice
    return render(request, "generator/_image_boards.html", context)


def _boards_notice(added, removed):
    said = []
    if added:
        said.append("Put on " + ", ".join(f"“{name}”" for name in added) + ".")
    if removed:
        said.append("Taken off " + ", ".join(f"“{name}”" for name in removed) + ".")
    return " ".join(said) or "Nothing changed."


@vary_on_headers("HX-Request")
@require_POST
@login_required
def image_tags(request, team_code, job_code):
    """Add (`add`) or remove (`remove`) one tag on an image; members and up."""
    membership = team_access(request, team_code, Role.MEMBER)
    team = membership.team
    job = team_job(team, job_code)
    added = clean_tag_name(request.POST.get("add"))
    removed = clean_tag_name(request.POST.get("remove"))
    with transaction.atomic():
        changed = {}
        if added:
            tag = Tag.objects.named(team, added)
            if tag.add_jobs([job], request.user):
                changed["added"] = tag.name
        if removed:
            deleted, _ = JobTag.objects.filter(
                job=job, tag__team=team, tag__name__iexact=removed
            ).delete()
            if deleted:
                changed["removed"] = removed
        if changed:
            _audit_for_others(request, team, job, audit.AuditAction.IMAGE_TAGS, **changed)
    if not request.htmx:
        return redirect("image_detail", team.code, job.code)
    return render(request, "generator/_image_tags.html", detail_context(request, job, True))
