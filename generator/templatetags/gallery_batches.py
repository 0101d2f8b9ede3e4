"""`{% for batch in jobs|batches:previous %}`: the gallery's grouping (generator.batches)."""

from django import template

from ..batches import group

register = template.Library()


@register.filter
def batches(jobs, previous=None):
    # An unset `previous` reaches a filter as "" (the template's empty value).
    return group(list(jobs), previous or None)
