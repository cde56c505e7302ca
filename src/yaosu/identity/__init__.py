"""Identity: organizations, users, roles, API tokens, DIDs and signing keys, admission (准入)."""
