"""Accounts: registration, login, sessions and tokens, user-interactive auth, passwords, profiles and the admin registration services."""
