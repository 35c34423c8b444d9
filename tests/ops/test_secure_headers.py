"""SecurityHeaders (app.kit.secureheaders): the headers an answer lacks are added, its own kept."""

from app.kit.secureheaders import SecurityHeaders


def _secured(path: str, headers: list[tuple[bytes, bytes]]) -> dict[bytes, list[bytes]]:
    middleware = SecurityHeaders(
        lambda *_: None,
        page_policy="default-src 'none'",
        path_policies={"/docs": "frame-ancestors 'none'"},
        static_prefixes=("/assets/",),
    )
    found: dict[bytes, list[bytes]] = {}
    for name, value in middleware.secured(path, headers):
        found.setdefault(name.lower(), []).append(value)
    return found


def test_a_json_answer_gets_nosniff_and_no_store_and_no_page_policy():
    found = _secured("/v1/domains", [(b"content-type", b"application/json")])
    assert found[b"x-content-type-options"] == [b"nosniff"] and found[b"cache-control"] == [b"no-store"]
    assert b"content-security-policy" not in found and b"x-frame-options" not in found


def test_a_page_gets_its_policy_unless_it_set_its_own_in_any_spelling():
    page = _secured("/", [(b"content-type", b"text/html; charset=utf-8")])
    assert page[b"content-security-policy"] == [b"default-src 'none'"]
    assert page[b"x-frame-options"] == [b"DENY"] and page[b"referrer-policy"] == [b"no-referrer"]
    assert _secured("/docs", [(b"content-type", b"text/html")])[b"content-security-policy"] == [
        b"frame-ancestors 'none'"
    ]
    own = _secured(
        "/",
        [
            (b"Content-Type", b"text/html"),
            (b"Content-Security-Policy", b"img-src 'self'"),
            (b"Cache-Control", b"max-age=60"),
            (b"X-Content-Type-Options", b"nosniff"),
        ],
    )
    assert own[b"content-security-policy"] == [b"img-src 'self'"] and own[b"cache-control"] == [b"max-age=60"]
    assert own[b"x-content-type-options"] == [b"nosniff"] and own[b"x-frame-options"] == [b"DENY"]


def test_static_assets_may_be_cached():
    found = _secured("/assets/app.css", [(b"content-type", b"text/css")])
    assert b"cache-control" not in found and found[b"x-content-type-options"] == [b"nosniff"]
