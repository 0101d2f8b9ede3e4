"""Views, one module per feature (accounts, teams, home, studio). URLs import the modules."""
