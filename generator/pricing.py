"""What a generation is expected to cost, shown before anyone presses Generate and reserved
against the budgets when it is started.

An estimate only: Akool reports the real charge per job (`Job.deduction_credit`), which can
differ, and the budgets count that instead once it is known. The per-image figures come from
settings (CREDITS_PER_IMAGE_1080P / CREDITS_PER_IMAGE_4K); keep every caller going through
this module so the form, the cost line and the budget check always agree.
"""

from collections.abc import Mapping

from django.conf import settings

ESTIMATE_NOTE = "estimate; Akool's charge may differ"
MAX_BATCH = 4


class _PerImage(Mapping):
    """Credits per image by resolution, read from settings on every lookup so a changed
    setting (or a test's override) applies at once."""

    def _table(self):
        return {"1080p": settings.CREDITS_PER_IMAGE_1080P, "4k": settings.CREDITS_PER_IMAGE_4K}

    def __getitem__(self, key):
        return self._table()[key]

    def __iter__(self):
        return iter(self._table())

    def __len__(self):
        return len(self._table())


CREDITS_PER_IMAGE = _PerImage()


def credits_per_image(resolution):
    """Unknown resolutions count as the dearest one, so the estimate never understates."""
    return CREDITS_PER_IMAGE.get(resolution, max(CREDITS_PER_IMAGE.values()))


def estimate_credits(resolution, batch):
    """Credits for `batch` images at `resolution`; unknown or malformed input counts as the
    dearest resolution and one image, so the estimate never understates by mistake."""
    try:
        batch = int(batch)
    except (TypeError, ValueError):
        batch = 1
    return credits_per_image(resolution) * min(max(batch, 1), MAX_BATCH)


def estimate_button_credits(button, resolution):
    """One image: U1–U4 is a 4K upscale whatever the parent's resolution; V1–V4 is a variation
    at the parent's resolution."""
    return credits_per_image("4k" if button.startswith("U") else resolution)
