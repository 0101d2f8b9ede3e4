"""What a generation is expected to cost, shown before anyone presses Generate.

An estimate only: Akool reports the real charge per job (`Job.deduction_credit`), which can
differ. Cost-control work refines this; keep every caller going through `estimate_credits`.
"""

CREDITS_PER_IMAGE = {"1080p": 1, "4k": 2}
ESTIMATE_NOTE = "estimate; Akool's charge may differ"


def estimate_credits(resolution, batch):
    """Credits for `batch` images at `resolution`; unknown or malformed input counts as the
    dearest resolution and one image, so the estimate never understates by mistake."""
    per_image = CREDITS_PER_IMAGE.get(resolution, max(CREDITS_PER_IMAGE.values()))
    try:
        batch = int(batch)
    except (TypeError, ValueError):
        batch = 1
    return per_image * min(max(batch, 1), 4)
