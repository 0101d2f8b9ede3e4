"""Templates ask the membership instead of re-spelling its rules."""

from django import template

register = template.Library()


@register.filter
def may_delete(membership, job):
    """`{% if membership|may_delete:job %}`: Membership.may_delete, the author-or-admin rule."""
    return membership is not None and membership.may_delete(job)


@register.filter
def may_change(membership, preset):
    """`{% if membership|may_change:preset %}`: Membership.may_change for a prompt preset."""
    return membership is not None and membership.may_change(preset.created_by_id)
