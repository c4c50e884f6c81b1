"""The server's schema migrations (Alembic): ``env.py`` and ``versions/`` for Alembic,
``apply.py`` the calls the server, its CLI and the tests make, ``plan.py`` the start rule.
Adding one: docs/operations.md, "Adding a migration"."""
