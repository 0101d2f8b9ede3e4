"""A ZIP of 200 originals downloaded in a real Chromium from the studio page: names, manifest
rows and sha256 digests match what the team stored, and every file carries its prompt."""

import csv
import hashlib
import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.utils import timezone
from PIL import Image

from tests.factories import make_image
from tests.test_browser_studio import (
    assert_clean,
    expect,
    media,  # noqa: F401 (fixture)
    open_as,  # noqa: F401 (fixture)
    studio,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Submits a plain form the way the bulk bar does: a top-level POST navigation with the CSRF
# token the page carries on <body>, answered by an attachment.
SUBMIT_ZIP_FORM = """
([action, fields]) => {
  const form = document.createElement("form");
  form.method = "post";
  form.action = action;
  const token = JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
  for (const [name, value] of [["csrfmiddlewaretoken", token], ...fields]) {
    const input = document.createElement("input");
    input.type = "hidden";
    input.name = name;
    input.value = value;
    form.append(input);
  }
  document.body.append(form);
  form.submit();
}
"""


@pytest.mark.usefixtures("media")
def test_a_zip_of_two_hundred_images_downloads_with_matching_manifest(
    open_as,  # noqa: F811
    team_a,
    owner,
    viewer,
):
    start = timezone.now() - timedelta(days=1)
    jobs = [
        make_image(
            team_a,
            owner,
            prompt=f"kite number {i}",
            created_at=start + timedelta(minutes=i),
            files=True,
        )
        for i in range(200)
    ]
    page = open_as(viewer)
    page.goto(studio(team_a))
    assert_clean(page)
    # The download is a navigation answered by an attachment, not a page to police.
    page.context.unroute("**/*")
    with page.expect_download(timeout=60_000) as info:
        page.evaluate(SUBMIT_ZIP_FORM, [f"/t/{team_a.code}/zip/", [["all", "1"], ["filters", ""]]])
    assert_archive_matches(info.value, jobs, team_a)


def assert_archive_matches(download, jobs, team):
    """The downloaded ZIP holds exactly `jobs`: names from date, prompt and code, manifest
    rows (CSV and JSON) whose sha256 match the files, each file the stored picture with its
    prompt written in."""
    assert download.suggested_filename.endswith(".zip")
    with zipfile.ZipFile(download.path()) as archive:
        rows = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode())))
        assert len(rows) == len(jobs) and len(archive.namelist()) == len(jobs) + 2
        by_code = {str(job.code): job for job in jobs}
        assert {row["code"] for row in rows} == set(by_code)
        for row in rows:
            job = by_code[row["code"]]
            day = timezone.localtime(job.created_at, team.zone()).date().isoformat()
            assert (
                row["file"]
                == f"{day}_{job.generation.prompt.replace(' ', '-')}_{job.code.hex[:6]}.png"
            )
            data = archive.read(row["file"])
            assert hashlib.sha256(data).hexdigest() == row["sha256"]
            with job.original.open("rb") as handle:
                stored = handle.read()
            assert int(row["bytes"]) == len(data) > len(stored)  # metadata written in
            with Image.open(io.BytesIO(data)) as image, Image.open(io.BytesIO(stored)) as original:
                assert image.text["parameters"].startswith(job.generation.prompt)
                assert image.tobytes() == original.tobytes()
        records = json.loads(archive.read("manifest.json"))
        assert [r["sha256"] for r in records] == [r["sha256"] for r in rows]


@pytest.mark.usefixtures("media")
def test_the_bulk_bars_download_zip_button_downloads_the_ticked_images(
    open_as,  # noqa: F811
    team_a,
    owner,
    member,
):
    start = timezone.now() - timedelta(days=1)
    jobs = [
        make_image(
            team_a,
            owner if i % 2 else member,
            prompt=f"harbour view {i}",
            created_at=start + timedelta(minutes=i),
            files=True,
        )
        for i in range(6)
    ]
    page = open_as(member, viewport={"width": 1280, "height": 900})
    page.goto(studio(team_a))
    chosen = [jobs[1], jobs[2], jobs[4]]
    for job in chosen:
        page.locator(f"#job-{job.code} .select-box").click()
    expect(page.locator("#bulk-count")).to_have_text("3 images selected")
    assert_clean(page)
    page.context.unroute("**/*")
    with page.expect_download(timeout=60_000) as info:
        page.locator("#bulk-form").get_by_role("button", name="Download ZIP").click()
    assert_archive_matches(info.value, chosen, team_a)
