"""Views, one module per feature (accounts, teams, members, credentials, studio, gallery, ...).
URLs import the modules."""
