"""Rolecall's framework-free domain: tenants, directories, principals and their access.

Its modules stand in three groups, with what they share beneath them (`docs/rbac.md` maps
each question to its module):

- the write door: `changes` (`apply_changes`, the one door), `facts`, `handlers`,
  `recompute`, `event_log`, `event_types`, `payloads`, `authorization`, `holdings`,
  `provisioning` (what an IdP sends) and `admin/` (what an admin does);
- the read side: `queries` (check, explain, verify), `listing`, `lookups`, `audit`,
  `evaluation` (pure), `user_access`, `wording`;
- the platform around the model: `tenancy` (organizations, directories, tokens, API keys),
  `accounts` (admin accounts and sessions), `hash_slots` (a bound on password hashing per
  host), `webhooks`, `journal`, `idempotency`, `wire`;
- shared: `models`, `db`, `catalog`, `context`, `errors`, `resources`, `group_graph`, `bulk`.

The platform stands on the model and never the other way round (an import-linter contract).
"""
