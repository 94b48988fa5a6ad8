"""/api/v1 routes of users and groups: read every one, write local ones; who has access."""
