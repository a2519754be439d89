"""Who may do what: users, roles and area scopes, agency keys, sessions and login throttling."""
