"""Every rule of the generation form, and no input that can make it fall over."""

import io
import ipaddress
import socket
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from PIL import Image

from generator import source_links
from generator.forms import GenerationForm
from generator.models import Backend
from tests.factories import make_akool_team, make_generated_job, make_team
from tests.instants import SOME, at

pytestmark = pytest.mark.django_db


@pytest.fixture
def live_team():
    return make_akool_team("Live", client_id="AKclient0000000000000=")


@pytest.fixture
def sandbox_team():
    return make_team("Play", backend=Backend.SANDBOX)


def png(size=(64, 48), fmt="PNG"):
    out = io.BytesIO()
    Image.new("RGB", size, "teal").save(out, fmt)
    return SimpleUploadedFile(f"src.{fmt.lower()}", out.getvalue(), content_type="image/png")


def form(team, files=None, **data):
    base = {"prompt": "a red kite", "mode": "t2i", "scale": "1:1", "resolution": "4k", "batch": "1"}
    base.update(data)
    return GenerationForm(base, files or {}, team=team)


@pytest.fixture
def public_dns(monkeypatch):
    def fake(host, port, *args, **kwargs):
        table = {
            "images.example.com": "93.184.216.34",
            "intranet.example.com": "10.0.0.7",
            "localhost": "127.0.0.1",
        }
        try:
            ipaddress.ip_address(host)
            table[host] = host
        except ValueError:
            pass
        if host not in table:
            raise socket.gaierror("not found")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (table[host], port))]

    monkeypatch.setattr(socket, "getaddrinfo", fake)


def test_defaults_are_valid_text_to_image(live_team):
    f = form(live_team)
    assert f.is_valid(), f.errors
    assert f.cleaned_data["similar"] is None and f.cleaned_data["source_url"] == ""


def test_prompt_is_required_and_trimmed(live_team):
    assert form(live_team, prompt="   ").errors["prompt"]
    f = form(live_team, prompt="  a kite  ")
    assert f.is_valid() and f.cleaned_data["prompt"] == "a kite"


def test_prompt_length_is_capped(live_team):
    assert "prompt" in form(live_team, prompt="x" * 2001).errors


@pytest.mark.parametrize("batch", ["0", "5", "-1", "two"])
def test_batch_must_be_one_to_four(live_team, batch):
    assert "batch" in form(live_team, batch=batch).errors


@pytest.mark.parametrize("scale", ["1:1", "3:2", "4:3", "16:9", "2:3", "3:4", "9:16"])
def test_the_seven_ratios_are_accepted(live_team, scale):
    assert form(live_team, scale=scale).is_valid()


def test_original_scale_needs_image_to_image(live_team):
    assert "scale" in form(live_team, scale="Original").errors


@pytest.mark.parametrize("resolution", ["720p", "8k", ""])
def test_resolution_is_1080p_or_4k(live_team, resolution):
    assert "resolution" in form(live_team, resolution=resolution).errors


@pytest.mark.parametrize("similar", ["-0.1", "1.5", "abc"])
def test_similarity_is_between_zero_and_one(live_team, public_dns, similar):
    f = form(live_team, mode="i2i", source_url="https://images.example.com/a.png", similar=similar)
    assert "similar" in f.errors


def test_similarity_is_ignored_for_text_to_image(live_team):
    f = form(live_team, similar="0.9")
    assert f.is_valid() and f.cleaned_data["similar"] is None


def test_image_to_image_needs_a_source(live_team):
    assert "source_url" in form(live_team, mode="i2i").errors


def test_image_to_image_takes_a_public_link(live_team, public_dns):
    f = form(live_team, mode="i2i", source_url="https://images.example.com/a.png", scale="Original")
    assert f.is_valid(), f.errors
    assert f.cleaned_data["similar"] == 0.5


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://intranet.example.com/a.png", "private"),
        ("http://localhost/a.png", "private"),
        ("http://127.0.0.1:8000/a.png", "private"),
        ("http://[::1]/a.png", "private"),
        ("http://169.254.169.254/latest/meta-data", "private"),
        ("https://nowhere.invalid/a.png", "could not be found"),
        ("ftp://images.example.com/a.png", ""),
    ],
)
def test_links_to_private_or_odd_places_are_refused(live_team, public_dns, url, reason):
    f = form(live_team, mode="i2i", source_url=url)
    assert "source_url" in f.errors
    assert reason in " ".join(f.errors["source_url"])


def test_the_sandbox_refuses_local_links_too(sandbox_team, public_dns):
    # The emulator fetches sources like Akool does, so it must not reach inside either.
    f = form(sandbox_team, mode="i2i", source_url="http://127.0.0.1:8000/x.png")
    assert "private" in " ".join(f.errors["source_url"])


def test_link_and_upload_together_are_refused(sandbox_team):
    f = form(sandbox_team, {"source_file": png()}, mode="i2i", source_url="http://127.0.0.1/x.png")
    assert "source_file" in f.errors


def test_uploads_need_a_public_address_for_real_akool(live_team, settings):
    settings.PUBLIC_BASE_URL = ""
    f = form(live_team, {"source_file": png()}, mode="i2i")
    assert "PUBLIC_BASE_URL" in " ".join(f.errors["source_file"])


def test_uploads_are_served_at_a_signed_public_address(live_team, settings, client, tmp_path):
    settings.PUBLIC_BASE_URL = "https://studio.example.com"
    settings.MEDIA_ROOT = tmp_path
    f = form(live_team, {"source_file": png()}, mode="i2i")
    assert f.is_valid(), f.errors
    generation = f.save(author=None)
    assert generation.source_url.startswith("https://studio.example.com/source/")
    path = generation.source_url.removeprefix("https://studio.example.com")
    response = client.get(path)
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")
    assert client.get(path[:-3] + "abc/").status_code == 404


@at(*SOME)
def test_an_upload_link_works_for_its_lifetime_and_then_stops(
    instant, time_machine, live_team, settings, client, tmp_path
):
    settings.PUBLIC_BASE_URL = "https://studio.example.com"
    settings.MEDIA_ROOT = tmp_path
    f = form(live_team, {"source_file": png()}, mode="i2i")
    assert f.is_valid(), f.errors
    path = f.save(author=None).source_url.removeprefix("https://studio.example.com")
    # Akool fetches it at job start: the link's lifetime of real time, whatever the clocks do.
    time_machine.move_to(instant.utc + source_links.LIFETIME - timedelta(seconds=1), tick=False)
    response = client.get(path)
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")
    time_machine.move_to(instant.utc + source_links.LIFETIME + timedelta(seconds=1), tick=False)
    assert client.get(path).status_code == 404


def test_the_apps_own_image_is_a_source_even_on_an_intranet_address(live_team, settings, tmp_path):
    """PUBLIC_BASE_URL may be private (Akool reaching the app through a tunnel or a VPN):
    the app's own signed links are recognised, not refused as private addresses."""
    from generator.models import State

    settings.PUBLIC_BASE_URL = "http://10.20.30.40:8000"
    job = make_generated_job(live_team, prompt="mine", state=State.DONE, original="originals/x.png")
    own = source_links.url_for(job)
    assert own.startswith("http://10.20.30.40:8000/source/")
    f = form(live_team, {}, mode="i2i", source_url=own)
    assert f.is_valid(), f.errors
    stranger = form(live_team, {}, mode="i2i", source_url="http://10.20.30.40:8000/x.png")
    assert "source_url" in stranger.errors


def test_a_non_image_upload_is_refused(sandbox_team):
    junk = SimpleUploadedFile("x.png", b"not an image at all", content_type="image/png")
    assert "source_file" in form(sandbox_team, {"source_file": junk}, mode="i2i").errors


def test_a_gif_upload_is_refused(sandbox_team):
    assert "source_file" in form(sandbox_team, {"source_file": png(fmt="GIF")}, mode="i2i").errors


def test_an_explicit_model_must_match_the_mode(live_team):
    assert "model_name" in form(live_team, model_name="wavespeed-ai/flux-kontext-dev").errors
    assert form(live_team, model_name="wavespeed-ai/flux-krea-dev-lora").is_valid()


@hsettings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "prompt",
                "negative_prompt",
                "mode",
                "model_name",
                "scale",
                "resolution",
                "batch",
                "similar",
                "source_url",
            ]
        ),
        st.one_of(st.text(max_size=300), st.integers().map(str), st.floats().map(str)),
    )
)
def test_no_input_makes_the_form_fall_over(live_team, public_dns, data):
    f = GenerationForm(data, {}, team=live_team)
    f.is_valid()  # must only ever answer valid or invalid, never raise
