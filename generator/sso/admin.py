"""allauth's admin pages that we do not use: the provider is configured by settings (so no
client secret is stored, or shown, in the database), and its tokens are not kept."""

from allauth.socialaccount.models import SocialApp, SocialToken
from django.contrib import admin

for model in (SocialApp, SocialToken):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
