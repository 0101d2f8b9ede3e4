"""Management commands: the demo account."""

from django.core.management import call_command

from generator.models import Membership, Role, User


def run_ensure_demo(capsys):
    call_command("ensure_demo")
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("Demo login: "))
    email, password = line.removeprefix("Demo login: ").split(" / ")
    return email, password


def test_ensure_demo_makes_an_account_that_can_sign_in(db, capsys, settings, monkeypatch):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    settings.AKOOL_SANDBOX = True
    email, password = run_ensure_demo(capsys)
    user = User.objects.get(email="demo@example.com")
    assert email == "demo@example.com" and user.check_password(password)
    membership = Membership.objects.get(user=user)
    assert membership.role == Role.OWNER and membership.team.name == "Demo team"
    assert membership.team.is_sandbox and membership.team.has_credentials
    assert user.current_team == membership.team


def test_running_twice_is_harmless_and_the_printed_password_works(db, capsys, monkeypatch):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    _, first = run_ensure_demo(capsys)
    _, second = run_ensure_demo(capsys)
    assert first != second
    assert User.objects.get(email="demo@example.com").check_password(second)
    assert User.objects.filter(email="demo@example.com").count() == 1
    assert Membership.objects.filter(team__name="Demo team").count() == 1


def test_demo_password_comes_from_the_environment(db, capsys, monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "show-me-the-demo")
    _, password = run_ensure_demo(capsys)
    assert password == "show-me-the-demo"
    assert User.objects.get(email="demo@example.com").check_password("show-me-the-demo")
