"""Start the test identity provider: `python -m tests.oidc_provider.serve CONFIG.json`.

Binds a free loopback port, writes the issuer into the config, sets up its database (the
client application and the people in the config), prints "READY <issuer>" and serves until
killed.
"""

import json
import os
import sys
from pathlib import Path


def main(config_path):
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

    server = ThreadedWSGIServer(("127.0.0.1", 0), WSGIRequestHandler)
    config_file = Path(config_path)
    config = json.loads(config_file.read_text())
    config["issuer"] = f"http://127.0.0.1:{server.server_port}/o"
    config_file.write_text(json.dumps(config))

    os.environ["IDP_CONFIG"] = str(config_file)
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.oidc_provider.settings"
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application
    from oauth2_provider.models import Application

    call_command("migrate", verbosity=0)
    for username, person in config["people"].items():
        User.objects.create_user(username, person["email"], person["password"])
    Application.objects.create(
        name="akool-web",
        client_id=config["client_id"],
        client_secret=config["client_secret"],
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=config["redirect_uri"],
        algorithm=Application.RS256_ALGORITHM,
        skip_authorization=True,
    )
    server.set_app(get_wsgi_application())
    print("READY", config["issuer"], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1])
