"""The Flask plumbing every edge shares.

The app's engine, per-request session and role catalog (`db`), request bodies and their size
limit (`request_body`), absolute URLs (`urls`), the request's correlation id (`correlation`)
and the instance folder with the default database (`instance`). `app/` (the composition root,
/api/v1, /admin, the command line) and `scim/` import it; it imports Flask, SQLAlchemy and
`rbac`, never an edge.
"""
