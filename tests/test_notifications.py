"""Team notification channels and personal notifications: a finished or failed generation, a
budget crossing 80 % and 100 %, Akool refusing the key or the account and a new share link
reach the channels that asked; deliveries are signed, retried with back-off and logged; the
channel's secret address never shows up in a page, the log or the delivery log.

Loopback servers stand in for every destination. Signed webhooks post to the receiver
directly. Slack and Discord go through apprise's own plugins, whose fixed service address
(hooks.slack.com, discord.com) is pointed at the receiver for the test: apprise still parses
the real webhook URL, builds the service's JSON and posts it; only the host differs. The SSRF
guard sees that loopback host and, as in every test of the guard, lets it through only under
`public_loopback`.
"""

import json
import logging
from datetime import timedelta

import pytest
import time_machine
from apprise.plugins.discord import NotifyDiscord
from apprise.plugins.slack import NotifySlack
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import module_loading, timezone

from generator.lib import signing
from generator.models import (
    AuditAction,
    AuditEntry,
    Channel,
    ChannelKind,
    Delivery,
    DeliveryStatus,
    Event,
    Failure,
    ShareLink,
    State,
)
from generator.notify import events, tasks
from tests.factories import make_charged_job, make_generation, make_job

SLACK_URL = "https://hooks.slack.com/services/T0SECRET1/B0SECRET2/SlackSecretToken123456"
DISCORD_URL = "https://discord.com/api/webhooks/417429632418316298/DiscordSecretTokenAbcdef0123"


@pytest.fixture
def run_deliveries(monkeypatch):
    """Queued deliveries run at once, in this process, as the worker would run them; other
    tasks are only recorded."""
    queued = []

    def fake_async_task(path, *args):
        queued.append(path)
        if path == "generator.notify.tasks.deliver":
            module_loading.import_string(path)(*args)

    monkeypatch.setattr("generator.queue.async_task", fake_async_task)
    return queued


@pytest.fixture
def settle(django_capture_on_commit_callbacks, run_deliveries):
    """Run `action` and the deliveries it queues."""

    def run(action, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return action(*args, **kwargs)

    return run


def webhook_channel(team, url, **fields):
    return Channel.objects.create(
        team=team,
        name="Ops hook",
        kind=ChannelKind.WEBHOOK,
        target=url,
        target_hint="127.0.0.1",
        signing_secret="whsec_test-secret",
        **fields,
    )


def pending_generation(team, author, count=2, prompt="a lighthouse at dusk"):
    generation = make_generation(team, author, prompt, batch=count)
    jobs = [make_job(generation=generation, index=i, state=State.STORING) for i in range(count)]
    return generation, jobs


def finish(job):
    return job.claim(State.STORING, State.DONE)


# --- generations reach a signed webhook --------------------------------------------------------


def test_a_finished_generation_notifies_a_signed_webhook_once(
    team_a, member, receiver, public_loopback, settle
):
    endpoint = receiver([200])
    channel = webhook_channel(team_a, f"{endpoint}/hook")
    _, jobs = pending_generation(team_a, member)

    settle(finish, jobs[0])
    assert endpoint.posts == []  # one image is still on its way
    settle(finish, jobs[1])
    settle(finish, jobs[1])  # a second worker's late claim changes nothing

    assert len(endpoint.posts) == 1
    path, headers, body = endpoint.posts[0]
    assert path == "/hook"
    assert signing.verify(channel.signing_secret, headers, body)
    assert not signing.verify("whsec_another", headers, body)
    message = json.loads(body)
    assert message["event"] == Event.GENERATION_DONE
    assert message["data"]["done"] == 2 and message["data"]["failed"] == 0
    assert "a lighthouse at dusk" in message["text"]
    delivery = Delivery.objects.get(channel=channel)
    assert (delivery.status, delivery.attempts, delivery.last_error) == (DeliveryStatus.SENT, 1, "")


def test_a_failed_generation_notifies_with_the_reason(
    team_a, member, receiver, public_loopback, settle
):
    endpoint = receiver([200])
    webhook_channel(team_a, f"{endpoint}/hook")
    _, jobs = pending_generation(team_a, member, count=1)

    settle(jobs[0].mark_failed, Failure.UNSAVABLE, "the file was not an image")

    (message,) = [json.loads(body) for _, _, body in endpoint.posts]
    assert message["event"] == Event.GENERATION_FAILED
    assert "could not be saved (the file was not an image)" in message["text"]


def test_a_channel_hears_only_the_events_it_chose(
    team_a, member, receiver, public_loopback, settle
):
    endpoint = receiver([200])
    webhook_channel(team_a, f"{endpoint}/hook", events=[Event.GENERATION_FAILED])
    _, jobs = pending_generation(team_a, member, count=1)
    settle(finish, jobs[0])
    assert endpoint.posts == []


def test_a_turned_off_channel_hears_nothing(team_a, member, receiver, public_loopback, settle):
    endpoint = receiver([200])
    webhook_channel(team_a, f"{endpoint}/hook", enabled=False)
    _, jobs = pending_generation(team_a, member, count=1)
    settle(finish, jobs[0])
    assert endpoint.posts == [] and not Delivery.objects.exists()


# --- retries -------------------------------------------------------------------------------------


def test_a_refused_delivery_is_retried_with_back_off_then_sent(
    team_a, member, receiver, public_loopback, settle
):
    endpoint = receiver([500, 200])
    channel = webhook_channel(team_a, f"{endpoint}/hook")
    _, jobs = pending_generation(team_a, member, count=1)
    start = timezone.now()

    with time_machine.travel(start, tick=False):
        settle(finish, jobs[0])
        delivery = Delivery.objects.get(channel=channel)
        assert delivery.status == DeliveryStatus.RETRYING
        assert delivery.attempts == 1
        assert delivery.last_error == "127.0.0.1 answered HTTP 500."
        assert delivery.next_attempt_at == start + timedelta(seconds=tasks.backoff(1))
        tasks.deliver_due()  # not due yet
        assert len(endpoint.posts) == 1

    with time_machine.travel(start + timedelta(seconds=tasks.backoff(1) + 1), tick=False):
        tasks.deliver_due()

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == (DeliveryStatus.SENT, 2, "")
    # The same message both times: the receiver can tell a retry by its id.
    first, second = (json.loads(body) for _, _, body in endpoint.posts)
    assert first["id"] == second["id"]


def test_a_delivery_is_given_up_after_its_last_attempt(
    team_a, member, receiver, public_loopback, settle
):
    endpoint = receiver([503])
    channel = webhook_channel(team_a, f"{endpoint}/hook")
    _, jobs = pending_generation(team_a, member, count=1)
    moment = timezone.now()
    with time_machine.travel(moment, tick=False) as clock:
        settle(finish, jobs[0])
        for attempt in range(1, tasks.MAX_ATTEMPTS):
            clock.shift(timedelta(seconds=tasks.backoff(attempt) + 1))
            tasks.deliver_due()
    delivery = Delivery.objects.get(channel=channel)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, tasks.MAX_ATTEMPTS)
    assert len(endpoint.posts) == tasks.MAX_ATTEMPTS


def test_a_send_a_dead_worker_left_is_taken_up_by_the_sweep(
    team_a, member, receiver, public_loopback
):
    endpoint = receiver([200])
    channel = webhook_channel(team_a, f"{endpoint}/hook")
    delivery = Delivery.objects.create(
        channel=channel,
        team=team_a,
        event=Event.TEST,
        key="test:abandoned",
        payload={"title": "t", "text": "x"},
        status=DeliveryStatus.SENDING,
        attempts=1,
        lease_until=timezone.now() - timedelta(seconds=1),
    )
    tasks.deliver_due()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, len(endpoint.posts)) == (DeliveryStatus.SENT, 2, 1)


# --- the SSRF guard ----------------------------------------------------------------------------


def test_a_private_destination_is_refused_and_never_contacted(team_a, member, receiver, settle):
    endpoint = receiver([200])  # loopback, and this test does not pretend it is public
    channel = webhook_channel(team_a, f"{endpoint}/hook")
    _, jobs = pending_generation(team_a, member, count=1)
    settle(finish, jobs[0])
    delivery = Delivery.objects.get(channel=channel)
    assert delivery.status == DeliveryStatus.FAILED  # permanent: no retry can help
    assert "private or local address" in delivery.last_error
    assert endpoint.posts == []


def test_the_form_refuses_a_private_webhook_address(team_a, owner_client):
    response = owner_client.post(
        reverse("channel_create", args=[team_a.code]),
        {
            "name": "inside",
            "kind": "webhook",
            "target": "http://10.0.0.7/hook",
            "events": ["generation_done"],
        },
    )
    assert response.status_code == 400
    assert "private or local address" in response.content.decode()
    assert not Channel.objects.exists()


# --- chat services through apprise -------------------------------------------------------------


@pytest.fixture
def chat_services_at(monkeypatch):
    """Point apprise's fixed Slack and Discord addresses at a loopback receiver."""

    def point(url):
        monkeypatch.setattr(NotifySlack, "webhook_url", f"{url}/services")
        monkeypatch.setattr(NotifyDiscord, "notify_url", f"{url}/api/webhooks")

    return point


def chat_channel(team, kind, url, **fields):
    return Channel.objects.create(
        team=team, name=f"{kind} room", kind=kind, target=url, target_hint="x", **fields
    )


def test_a_failed_generation_reaches_slack_through_apprise(
    team_a, member, receiver, public_loopback, chat_services_at, settle
):
    slack = receiver([200])
    chat_services_at(slack)
    channel = chat_channel(team_a, ChannelKind.SLACK, SLACK_URL, events=[Event.GENERATION_FAILED])
    _, jobs = pending_generation(team_a, member, count=1, prompt="a fox in the snow")

    settle(jobs[0].mark_failed, Failure.AKOOL_FAILED)

    (post,) = slack.posts
    path, headers, body = post
    assert path == "/services/T0SECRET1/B0SECRET2/SlackSecretToken123456"
    text = json.dumps(json.loads(body))
    assert "Generation failed" in text and "a fox in the snow" in text
    assert Delivery.objects.get(channel=channel).status == DeliveryStatus.SENT


def test_discord_gets_the_message_and_a_500_is_retried(
    team_a, member, receiver, public_loopback, chat_services_at, settle
):
    discord = receiver([500, 204])
    chat_services_at(discord)
    channel = chat_channel(team_a, ChannelKind.DISCORD, DISCORD_URL)
    _, jobs = pending_generation(team_a, member, count=1)
    moment = timezone.now()
    with time_machine.travel(moment, tick=False) as clock:
        settle(finish, jobs[0])
        delivery = Delivery.objects.get(channel=channel)
        assert delivery.status == DeliveryStatus.RETRYING
        assert delivery.last_error == "Discord answered HTTP 500."
        clock.shift(timedelta(seconds=tasks.backoff(1) + 1))
        tasks.deliver_due()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT
    assert [path for path, _, _ in discord.posts] == [
        "/api/webhooks/417429632418316298/DiscordSecretTokenAbcdef0123"
    ] * 2


def test_the_chat_address_is_not_in_the_logs_or_the_delivery_log(
    team_a, member, receiver, public_loopback, chat_services_at, settle, caplog
):
    slack = receiver([500])
    chat_services_at(slack)
    channel = chat_channel(team_a, ChannelKind.SLACK, SLACK_URL)
    _, jobs = pending_generation(team_a, member, count=1)
    caplog.set_level(logging.DEBUG)
    settle(finish, jobs[0])
    delivery = Delivery.objects.get(channel=channel)
    assert delivery.status == DeliveryStatus.RETRYING
    assert len(slack.posts) == 1
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "delivery" in logged  # the failure was logged...
    for secret in ("SlackSecretToken123456", "B0SECRET2"):
        assert secret not in logged  # ...without the address
        assert secret not in delivery.last_error
        assert secret not in json.dumps(delivery.payload)


# --- other events --------------------------------------------------------------------------


def test_akool_refusing_the_key_is_told_once_an_hour(
    team_a, member, receiver, public_loopback, settle
):
    endpoint = receiver([200])
    webhook_channel(team_a, f"{endpoint}/hook", events=[Event.KEY_INVALID, Event.ACCOUNT])
    for _ in range(2):
        _, jobs = pending_generation(team_a, member, count=1)
        settle(jobs[0].mark_failed, Failure.BAD_KEY, "Akool rejected the credentials.", code=1101)
    _, jobs = pending_generation(team_a, member, count=1)
    settle(jobs[0].mark_failed, Failure.ACCOUNT, "The Akool account has been banned.", code=1200)

    messages = [json.loads(body) for _, _, body in endpoint.posts]
    assert [m["event"] for m in messages] == [Event.KEY_INVALID, Event.ACCOUNT]
    assert messages[0]["data"]["code"] == 1101
    assert "banned" in messages[1]["text"]


def test_budget_crossing_80_and_100_percent_is_told_once_each(
    team_a, member, receiver, public_loopback, settle
):
    endpoint = receiver([200])
    webhook_channel(team_a, f"{endpoint}/hook", events=[Event.BUDGET_80, Event.BUDGET_100])
    team_a.monthly_budget = 10
    team_a.save()
    now = timezone.now()
    make_charged_job(team_a, member, now, 7)
    settle(events.budget_checked, team_a)
    assert endpoint.posts == []
    make_charged_job(team_a, member, now, 1)
    settle(events.budget_checked, team_a)
    settle(events.budget_checked, team_a)
    make_charged_job(team_a, member, now, 2)
    settle(events.budget_checked, team_a)
    messages = [json.loads(body) for _, _, body in endpoint.posts]
    assert [m["event"] for m in messages] == [Event.BUDGET_80, Event.BUDGET_100]
    assert messages[1]["data"] == {"used": 10, "limit": 10, "percent": 100}


def test_a_new_share_link_is_told_without_the_link(
    team_a,
    member,
    member_client,
    receiver,
    public_loopback,
    run_deliveries,
    django_capture_on_commit_callbacks,
):
    endpoint = receiver([200])
    webhook_channel(team_a, f"{endpoint}/hook", events=[Event.SHARE_CREATED])
    job = make_job(team_a, member, state=State.DONE)
    with django_capture_on_commit_callbacks(execute=True):
        response = member_client.post(
            reverse("share_create", args=[team_a.code]),
            {"codes": [str(job.code)], "expiry": "7d"},
        )
    assert response.status_code == 200
    link = ShareLink.objects.get()
    (message,) = [json.loads(body) for _, _, body in endpoint.posts]
    assert message["event"] == Event.SHARE_CREATED
    assert message["data"]["share"] == str(link.code)
    token_url = response.context["link_url"]
    assert token_url.rsplit("/s/", 1)[1].strip("/") not in json.dumps(message)


# --- a person's own email ----------------------------------------------------------------------


def test_the_author_who_asked_gets_an_email(team_a, member, owner, settle):
    member.notify_email = True
    member.save()
    _, mine = pending_generation(team_a, member, count=1, prompt="my own harbour")
    _, theirs = pending_generation(team_a, owner, count=1)
    settle(finish, mine[0])
    settle(finish, theirs[0])
    (message,) = mail.outbox
    assert message.to == [member.email]
    assert "my own harbour" in message.body
    assert Delivery.objects.get(recipient=member).status == DeliveryStatus.SENT


def test_the_account_page_saves_the_preferences(member, member_client):
    page = member_client.get(reverse("account"))
    assert page.status_code == 200
    assert "data-notify-permission" in page.content.decode()
    response = member_client.post(reverse("account"), {"notify_browser": "on"})
    assert response.status_code == 302
    member.refresh_from_db()
    assert (member.notify_browser, member.notify_email) == (True, False)
    studio = member_client.get(reverse("studio", args=[member.current_team.code]))
    assert "data-notify-browser" in studio.content.decode()


# --- the channel pages -----------------------------------------------------------------------


def test_only_admins_reach_the_channels(team_a, member_client, outsider_client, owner_client):
    url = reverse("channel_list", args=[team_a.code])
    assert outsider_client.get(url).status_code == 404
    assert member_client.get(url).status_code == 403
    assert owner_client.get(url).status_code == 200


def test_the_secret_address_is_never_shown_again(
    team_a, owner, owner_client, chat_services_at, receiver, public_loopback
):
    chat_services_at(receiver([200]))
    response = owner_client.post(
        reverse("channel_create", args=[team_a.code]),
        {"name": "Design room", "kind": "slack", "target": SLACK_URL, "events": ["share_created"]},
        follow=True,
    )
    assert response.status_code == 200
    channel = Channel.objects.get()
    assert channel.target == SLACK_URL
    assert channel.target_hint == "127.0.0.1"  # the host apprise posts to, here the receiver
    assert AuditEntry.objects.filter(action=AuditAction.CHANNEL_ADDED).count() == 1
    pages = [
        response,
        owner_client.get(reverse("channel_list", args=[team_a.code])),
        owner_client.get(reverse("channel_detail", args=[team_a.code, channel.code])),
        # A rejected change comes back with its errors, never with the address.
        owner_client.post(
            reverse("channel_detail", args=[team_a.code, channel.code]),
            {"name": "", "target": SLACK_URL, "events": ["share_created"]},
        ),
    ]
    owner.is_staff = owner.is_superuser = True
    owner.save()
    admin = Client()
    admin.force_login(owner)
    pages.append(admin.get(reverse("admin:generator_channel_change", args=[channel.pk])))
    pages.append(admin.get(reverse("admin:generator_channel_changelist")))
    for page in pages:
        html = page.content.decode()
        assert "SlackSecretToken123456" not in html
        assert "T0SECRET1" not in html
    # The stored column holds ciphertext only.
    raw = Channel.objects.values_list("target", flat=True).get()
    assert "SlackSecretToken" not in raw.token


def test_a_webhook_channel_shows_its_signing_secret_once(team_a, owner_client, public_loopback):
    response = owner_client.post(
        reverse("channel_create", args=[team_a.code]),
        {
            "name": "Our endpoint",
            "kind": "webhook",
            "target": "http://127.0.0.1:9/hook-4d1f9c",
            "events": ["generation_done"],
            "enabled": "on",
        },
    )
    channel = Channel.objects.get()
    assert channel.signing_secret in response.content.decode()
    again = owner_client.get(reverse("channel_detail", args=[team_a.code, channel.code]))
    assert channel.signing_secret not in again.content.decode()
    assert "hook-4d1f9c" not in again.content.decode()


def test_send_test_delivers_and_shows_in_the_log(
    team_a,
    owner_client,
    receiver,
    public_loopback,
    run_deliveries,
    django_capture_on_commit_callbacks,
):
    endpoint = receiver([500])
    channel = webhook_channel(team_a, f"{endpoint}/hook", events=[])
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            reverse("channel_test", args=[team_a.code, channel.code]),
            headers={"HX-Request": "true"},
        )
    assert response.status_code == 200
    (_, _, body) = endpoint.posts[0]
    assert json.loads(body)["event"] == Event.TEST
    log = owner_client.get(reverse("channel_detail", args=[team_a.code, channel.code]))
    html = log.content.decode()
    assert 'data-status="retrying"' in html
    assert "127.0.0.1 answered HTTP 500." in html
    assert f"{endpoint}/hook" not in html


# --- the signature a receiver checks ---------------------------------------------------------


def test_the_signature_refuses_a_changed_body_and_an_old_request():
    body = b'{"event":"test"}'
    headers = signing.signed_headers("whsec_s", body, now=1_000_000)
    assert signing.verify("whsec_s", headers, body, now=1_000_000 + signing.REPLAY_WINDOW)
    assert not signing.verify("whsec_s", headers, body + b" ", now=1_000_000)
    assert not signing.verify("whsec_s", headers, body, now=1_000_000 + signing.REPLAY_WINDOW + 1)
    assert not signing.verify("whsec_s", {**headers, signing.TIMESTAMP_HEADER: "x"}, body)


# --- Microsoft Teams: apprise's workflow plugin, over TLS ------------------------------------

TEAMS_HOST = "prod-00.westeurope.logic.azure.com"


@pytest.fixture
def teams_at_loopback(monkeypatch, tmp_path, receiver):
    """A TLS receiver answering for TEAMS_HOST. Apprise accepts only Microsoft's workflow
    hosts and always posts over https, so the name resolves to loopback for this test (the
    one thing changed), its certificate is made here, and requests is told to trust it."""
    import datetime as dt
    import socket
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, TEAMS_HOST)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(TEAMS_HOST)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "teams.pem", tmp_path / "teams.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert_file, key_file)
    server = receiver([200], tls=tls)
    real = socket.getaddrinfo

    def resolve(host, *args, **kwargs):
        return real("127.0.0.1" if host == TEAMS_HOST else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert_file))
    port = server.rsplit(":", 1)[1]
    server.webhook = (
        f"https://{TEAMS_HOST}:{port}/workflows/643e69f83c8944438d68119179a10a64/triggers/"
        "manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0"
        "&sig=TeamsSecretSignature0123456789"
    )
    return server


def test_a_finished_generation_reaches_microsoft_teams_through_apprise(
    team_a, member, teams_at_loopback, public_loopback, settle
):
    channel = chat_channel(team_a, ChannelKind.TEAMS, teams_at_loopback.webhook)
    _, jobs = pending_generation(team_a, member, count=1, prompt="a tram in the fog")
    settle(finish, jobs[0])
    (post,) = teams_at_loopback.posts
    path, _, body = post
    assert path.startswith("/workflows/643e69f83c8944438d68119179a10a64/triggers/manual/")
    assert "sig=TeamsSecretSignature0123456789" in path
    assert "a tram in the fog" in json.dumps(json.loads(body))  # an adaptive card
    delivery = Delivery.objects.get(channel=channel)
    assert (delivery.status, delivery.last_error) == (DeliveryStatus.SENT, "")


def test_a_teams_host_that_is_not_public_is_refused(team_a, member, teams_at_loopback, settle):
    channel = chat_channel(team_a, ChannelKind.TEAMS, teams_at_loopback.webhook)
    _, jobs = pending_generation(team_a, member, count=1)
    settle(finish, jobs[0])
    delivery = Delivery.objects.get(channel=channel)
    assert delivery.status == DeliveryStatus.FAILED
    assert "private or local address" in delivery.last_error
    assert teams_at_loopback.posts == []


def test_rotation_re_encrypts_channel_addresses_too(team_a, settings, capsys):
    from cryptography.fernet import Fernet
    from django.core.management import call_command

    webhook_channel(team_a, "https://hooks.example.com/abc")
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    call_command("rotate_encryption_keys")
    assert "Re-encrypted 1 notification channel(s)." in capsys.readouterr().out
    target, secret = Channel.objects.values_list("target", "signing_secret").get()
    assert Fernet(new_key).decrypt(target.token.encode()) == b"https://hooks.example.com/abc"
    assert Fernet(new_key).decrypt(secret.token.encode()) == b"whsec_test-secret"


# --- end to end, through the sandbox ---------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_generation_on_the_sandbox_reaches_the_webhook_once_it_is_stored(
    pipeline_team, receiver, public_loopback, monkeypatch
):
    """The real pipeline in this process: the create call and the polls go to the live
    sandbox over HTTP, the images are downloaded and stored, and the last one stored sends the
    one signed message."""
    from generator.models import PENDING_STATES, Job
    from generator.starters import start_generation
    from generator.tasks import follow_once
    from tests.fixtures_pipeline import wait_for

    endpoint = receiver([200])
    channel = webhook_channel(pipeline_team, f"{endpoint}/hook")
    inline = ("submit_generation", "store_job", "deliver")

    def run_inline(path, *args):
        if path.rsplit(".", 1)[-1] in inline:
            module_loading.import_string(path)(*args)

    monkeypatch.setattr("generator.queue.async_task", run_inline)
    author = pipeline_team.memberships.first().user
    generation = make_generation(
        pipeline_team, author, "a pier at low tide", batch=2, resolution="1080p"
    )
    start_generation(generation)
    jobs = Job.objects.filter(generation=generation)

    def settled():
        follow_once()
        return not jobs.filter(state__in=PENDING_STATES).exists()

    wait_for(settled, timeout=40, message="the generation to settle")
    assert sorted(jobs.values_list("state", flat=True)) == [State.DONE, State.DONE]
    (post,) = endpoint.posts
    _, headers, body = post
    assert signing.verify(channel.signing_secret, headers, body)
    message = json.loads(body)
    assert (message["event"], message["data"]["done"]) == (Event.GENERATION_DONE, 2)
    assert message["data"]["generation"] == str(generation.code)
