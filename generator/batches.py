"""The gallery's batches: the images of one generation shown together, with the prompt once.

A batch is a run of consecutive jobs (in gallery order, newest first) with the same key: the
originals of one generation, or the U/V children one image made (they share its generation, so
the parent is part of the key). Grouping happens here once, for the full page, the "load more"
pages and the cards that arrive live.
"""

from dataclasses import dataclass, field

from .models import Job


def batch_key(job):
    """Jobs with equal keys belong together when they are neighbours in the gallery."""
    return (job.generation_id, job.parent_id, bool(job.button))


@dataclass
class Batch:
    jobs: list
    # The page before this one ended inside this batch: a "load more" answer adds the cards to
    # the section already on the page instead of opening a second one.
    continues: bool = False
    # The image the U/V children were made from (None for originals, or once it is deleted).
    parent: Job | None = None
    dom_id: str = field(default="")

    @property
    def generation(self):
        return self.jobs[0].generation

    @property
    def newest(self):
        return self.jobs[0]

    @property
    def is_children(self):
        return bool(self.jobs[0].button)

    @property
    def label(self):
        """What the children are, for their header ("Upscale 2 of image 1"); "" for originals."""
        if not self.is_children:
            return ""
        kinds = ", ".join(
            f"{'Upscale' if job.button.startswith('U') else 'Variation'} {job.button[1:]}"
            for job in reversed(self.jobs)
        )
        if self.parent is None:
            return f"{kinds} of a deleted image"
        return f"{kinds} of image {self.parent.index + 1}"


def group(jobs, previous=None):
    """`jobs` (in gallery order) as a list of Batches. `previous`: the job shown just before
    the first of `jobs` (the end of the page before), if any."""
    batches = []
    for job in jobs:
        if batches and batch_key(batches[-1].jobs[-1]) == batch_key(job):
            batches[-1].jobs.append(job)
        else:
            batches.append(Batch(jobs=[job]))
    if batches and previous is not None and batch_key(previous) == batch_key(jobs[0]):
        batches[0].continues = True
    _name(batches)
    return batches


def _name(batches):
    """Parents of children batches (one query) and a DOM id unique on the page.

    `batch-<generation code>` is the contract for originals; children add their parent's
    code. The same key twice on one page (an image's children made at different times, other
    images in between) gets the run's newest job code as well, so no id repeats."""
    parent_ids = {b.jobs[0].parent_id for b in batches if b.jobs[0].parent_id}
    parents = Job.objects.only("code", "index").in_bulk(parent_ids) if parent_ids else {}
    seen = set()
    for batch in batches:
        first = batch.jobs[0]
        dom_id = f"batch-{first.generation.code}"
        if first.button:
            batch.parent = parents.get(first.parent_id)
            dom_id += f"-{batch.parent.code}" if batch.parent else "-made"
        if dom_id in seen:
            dom_id += f"-{first.code}"
        seen.add(dom_id)
        batch.dom_id = dom_id
