"""Every integer /admin takes from a request is bounded: no input a client can send is a 500.

Generated from the URL map: every GET page of /admin, with its path filled with real
objects, is asked with hostile values of every paging parameter, and every integer in a
path is tried out of range.
"""

import pytest
from werkzeug.routing import IntegerConverter

HOSTILE = ["", " ", "-1", "x", "1e3", str(2**63), str(2**64), "9" * 40, "0x10", "١٢"]
PAGING = ["after", "before", "assets_after"]


@pytest.fixture
def pages(routes):
    """Every GET page of /admin, its path filled with objects of the world."""
    return [(rule, path) for rule, path in routes if "GET" in rule.methods]


def test_paging_parameters_out_of_range_are_never_a_500(admin, pages):
    """Empty, negative, huge and non-decimal cursors: a page or a clear 400, never a 500."""
    for _, path in pages:
        for name in PAGING:
            for value in HOSTILE:
                answer = admin.client.get(path, query_string={name: value})
                assert answer.status_code < 500, (path, name, value, answer.status_code)


def test_integers_in_paths_out_of_range_are_404(admin, app, pages):
    """An id past what a column holds is as missing as any made-up one: 404, not 500."""
    for rule in [r for r in app.url_map.iter_rules() if r.rule.startswith("/admin")]:
        converters = rule._converters  # werkzeug keeps each argument's converter here
        ids = [n for n, c in converters.items() if isinstance(c, IntegerConverter)]
        if not ids:
            continue
        for huge in (2**31, 2**63, 2**64, 10**40):
            path = rule.rule
            for name in rule.arguments - set(rule.defaults or {}):
                value = huge if name in ids else {"directory": "okta"}.get(name, "x")
                path = path.replace(f"<{_spec(rule, name)}>", str(value))
            for method in sorted(rule.methods & {"GET", "POST"}):
                answer = admin.client.open(path, method=method, data={})
                assert answer.status_code in (400, 404), (method, path, answer.status_code)


def _spec(rule, name: str) -> str:
    """The `converter(args):name` text of a rule's argument, as written in the rule."""
    import re

    return re.search(rf"<([^<>]*:)?{name}>", rule.rule).group(0)[1:-1]
