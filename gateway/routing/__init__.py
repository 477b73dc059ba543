"""Which model serves a request: roles, the cascade plan, breakers, quotas and affinity."""
