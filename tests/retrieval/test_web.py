"""SSRF guard, page fetching and extraction, the web retriever, caching and hybrid (local + web) mode.

Pages are served by a real HTTP server on 127.0.0.1; it is reachable only because each test allows that
host explicitly, which is itself what the SSRF guard is for.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.retrieval.conftest import Loopback, Reply
from ttd.retrieval.cache import Cache, clear_cache
from ttd.retrieval.fetch import PageFetcher, classify
from ttd.retrieval.ssrf import BlockedURLError, SSRFGuard
from ttd.retrieval.web import WebRetriever, normalize_url

pytest.importorskip("trafilatura")

ARTICLE = """<html><head><title>The Tanager Falls</title></head><body>
<nav>Menu Home Contact</nav>
<article><h1>The Tanager Falls</h1>
<p>The Tanager Falls are a fictional waterfall used in this test. They drop 312 metres over a basalt cliff
in three tiers, and the plunge pool at their base is home to a rare blind cave fish.</p>
<p>Surveyors first measured the falls in 1911 with a theodolite; the figure was confirmed by lidar in 2019,
which also mapped the gorge cut by the river over the last ten thousand years of the Holocene.</p>
<p>Visitors reach the viewing platform by a trail of 4 kilometres that begins at the ranger station.</p>
</article><footer>Copyright</footer></body></html>"""
CAPTCHA = (
    "<html><head><title>Just a moment...</title></head><body><p>Checking your browser before "
    "accessing the site. Please verify you are human by completing the CAPTCHA.</p></body></html>"
)


def run(coro):  # noqa: ANN001, ANN201
    return asyncio.run(coro)


# -- SSRF -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://127.0.0.1:8080/admin",
        "http://10.1.2.3/",
        "http://172.16.0.1/",
        "http://192.168.1.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[fe80::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://2130706433/",
        "http://localhost/",
        "file:///etc/passwd",
        "ftp://example.com/x",
        "gopher://example.com/",
        "javascript:alert(1)",
        "http:///nohost",
    ],
)
def test_guard_refuses(url: str) -> None:
    with pytest.raises(BlockedURLError):
        run(SSRFGuard().check(url))


def test_guard_allows_public_ips_and_allowed_hosts() -> None:
    run(SSRFGuard().check("https://93.184.216.34/page"))  # a literal public address: no DNS needed
    run(SSRFGuard(["127.0.0.1"]).check("http://127.0.0.1:9/"))
    run(SSRFGuard(["10.0.0.0/8"]).check("http://10.9.9.9/"))
    run(SSRFGuard(["intranet.example"]).check("http://intranet.example/"))  # allowed by name, not resolved
    with pytest.raises(BlockedURLError):
        run(SSRFGuard(["10.0.0.0/8"]).check("http://192.168.0.1/"))


def test_fetch_refuses_loopback_unless_allowed(loopback: Loopback) -> None:
    loopback.routes["/a"] = Reply(200, ARTICLE)
    page = run(PageFetcher().fetch(f"{loopback.url}/a"))
    assert not page.ok and page.reason.startswith("blocked") and loopback.count() == 0
    page = run(PageFetcher(["127.0.0.1"]).fetch(f"{loopback.url}/a"))
    assert page.ok and "312 metres" in page.text and "Menu Home" not in page.text
    assert page.title == "The Tanager Falls"


@pytest.mark.parametrize(
    "target",
    [
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "file:///etc/passwd",
        "http://[::1]:{port}/a",
    ],
)
def test_redirect_into_private_range_is_blocked(loopback: Loopback, target: str) -> None:
    port = loopback.server.server_address[1]
    loopback.routes["/a"] = Reply(200, ARTICLE)
    loopback.routes["/go"] = Reply(302, b"", headers={"Location": target.format(port=port)})
    page = run(PageFetcher(["127.0.0.1"]).fetch(f"{loopback.url}/go"))
    assert not page.ok and page.reason.startswith("blocked"), page
    assert loopback.count("/go") == 1 and loopback.count("/a") == 0


def test_fetch_limits(loopback: Loopback) -> None:
    loopback.routes["/loop"] = Reply(302, b"", headers={"Location": "/loop"})
    loopback.routes["/bin"] = Reply(200, b"\x00" * 100, headers={"Content-Type": "application/octet-stream"})
    loopback.routes["/big"] = Reply(
        200, ARTICLE.replace("</article>", "<p>" + "filler words " * 4000 + "</p></article>")
    )
    loopback.routes["/slow"] = Reply(200, ARTICLE, delay_s=1.5)
    loopback.routes["/hop"] = Reply(301, b"", headers={"Location": "/a"})
    loopback.routes["/a"] = Reply(200, ARTICLE)
    f = PageFetcher(["127.0.0.1"], max_redirects=3, max_bytes=20_000, timeout_s=0.4)
    loop = run(f.fetch(f"{loopback.url}/loop"))
    assert not loop.ok and "redirects" in loop.reason and loopback.count("/loop") == 4
    assert run(f.fetch(f"{loopback.url}/bin")).reason == "content type application/octet-stream not allowed"
    big = run(f.fetch(f"{loopback.url}/big"))
    assert big.truncated
    assert run(f.fetch(f"{loopback.url}/slow")).reason == "timeout"
    hop = run(f.fetch(f"{loopback.url}/hop"))
    assert hop.ok and hop.final_url.endswith("/a")


def test_bad_pages_are_skipped(loopback: Loopback) -> None:
    loopback.routes["/captcha"] = Reply(200, CAPTCHA)
    loopback.routes["/empty"] = Reply(200, "<html><body><div></div></body></html>")
    loopback.routes["/err"] = Reply(503, "<html><title>503 Service Unavailable</title></html>")
    loopback.routes["/soft404"] = Reply(200, "<html><title>Page not found</title><p>Sorry.</p></html>")
    f = PageFetcher(["127.0.0.1"])
    assert run(f.fetch(f"{loopback.url}/captcha")).reason == "anti-bot page"
    assert run(f.fetch(f"{loopback.url}/empty")).reason == "empty page"
    assert run(f.fetch(f"{loopback.url}/err")).reason == "HTTP 503"
    assert run(f.fetch(f"{loopback.url}/soft404")).reason == "error page"
    assert classify("Captcha research", "A long article about CAPTCHA design. " * 80) == ""


# -- web retriever --------------------------------------------------------------------------------------
def _searx(lb: Loopback, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEARXNG_URL", lb.url)
    lb.routes["/search"] = Reply(
        200,
        {
            "results": [
                {
                    "url": f"{lb.url}/falls?utm_source=x",
                    "title": "Falls (search title)",
                    "content": "falls snippet",
                },
                {"url": f"{lb.url}/captcha", "title": "Walled", "content": "snippet of the walled page"},
                {"url": f"{lb.url}/falls", "title": "Falls again", "content": "duplicate"},
                {"url": f"{lb.url}/gone", "title": "Gone", "content": ""},
            ]
        },
    )
    lb.routes["/falls"] = Reply(200, ARTICLE)
    lb.routes["/captcha"] = Reply(200, CAPTCHA)


def _web(cache: Cache | None) -> WebRetriever:
    from ttd.retrieval.providers import make_provider

    return WebRetriever(
        [make_provider("searxng", backoff_s=0.01)],
        cache=cache,
        fetcher=PageFetcher(["127.0.0.1"], cache=cache),
    )


def test_web_retriever_passages(loopback: Loopback, monkeypatch: pytest.MonkeyPatch) -> None:
    _searx(loopback, monkeypatch)
    out = run(_web(None).search("When were the Tanager Falls measured by lidar?", 5))
    assert len(out) == 2  # the duplicate merged, the empty 404 page dropped
    falls, walled = out
    assert falls.meta["fetched"] and "lidar in 2019" in falls.text and falls.title == "The Tanager Falls"
    assert falls.provider == "web:searxng" and falls.location == f"{loopback.url}/falls"
    assert not walled.meta["fetched"] and walled.meta["skip_reason"] == "anti-bot page"
    assert walled.text == "snippet of the walled page" and "CAPTCHA" not in walled.text
    again = run(_web(None).search("When were the Tanager Falls measured by lidar?", 5))
    assert [p.id for p in again] == [p.id for p in out]  # stable ids across runs


def test_cache_second_search_makes_no_request(
    loopback: Loopback, monkeypatch: pytest.MonkeyPatch, ttd_home: Path
) -> None:
    _searx(loopback, monkeypatch)
    q = "Tanager Falls height"
    first = run(_web(Cache()).search(q, 5))
    n = loopback.count()
    assert loopback.count("/search") == 1 and n >= 3
    cache = Cache()
    second = run(_web(cache).search(q, 5))
    assert loopback.count() == n  # zero provider requests, zero page requests
    assert cache.hits >= 2 and [p.id for p in second] == [p.id for p in first]
    run(_web(Cache(enabled=False)).search(q, 5))  # --no-cache goes to the network
    assert loopback.count("/search") == 2
    assert clear_cache() > 0
    run(_web(Cache()).search(q, 5))
    assert loopback.count("/search") == 3
    expired = Cache(ttl_s=-1)
    expired.set("x", "k", 1)
    assert expired.get("x", "k") is None


def test_provider_failure_degrades_to_empty(loopback: Loopback, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEARXNG_URL", loopback.url)
    loopback.routes["/search"] = Reply(500, {"error": "down"})
    web = _web(Cache())
    assert run(web.search("anything", 3)) == [] and "HTTP 500" in web.errors[0]
    assert run(_web(Cache()).search("anything", 3)) == []  # failures are not cached
    assert loopback.count("/search") == 8


def test_normalize_url() -> None:
    assert normalize_url("HTTPS://Example.COM:443/a/?utm_source=x&b=1#frag") == "https://example.com/a?b=1"
    assert normalize_url("http://example.com/") == "http://example.com"


# -- hybrid: local corpora and the web --------------------------------------------------------------------
def test_multi_retriever_keeps_provenance(
    loopback: Loopback, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from ttd.retrieval.corpus import Corpus
    from ttd.retrieval.factory import build_from_options
    from ttd.retrieval.hybrid import CorpusRetriever
    from ttd.retrieval.multi import MultiRetriever

    _searx(loopback, monkeypatch)
    (tmp_path / "notes.md").write_text(
        "# Field notes\n\nThe Tanager Falls trail starts at the ranger station.\n"
    )
    with Corpus("notes") as c:
        c.update([tmp_path / "notes.md"])
    assert build_from_options([], [], dense=False, cache=True, allow_hosts=[]) is None
    assert isinstance(
        build_from_options(["notes"], [], dense=False, cache=True, allow_hosts=[]), CorpusRetriever
    )
    multi = build_from_options(["notes"], ["searxng"], dense=False, cache=True, allow_hosts=["127.0.0.1"])
    assert isinstance(multi, MultiRetriever)
    out = run(multi.search("Tanager Falls trail ranger station", 5))
    providers = {p.provider for p in out}
    assert {"corpus:notes", "web:searxng"} <= providers
    assert len({p.id for p in out}) == len(out)
    run(multi.aclose())
    # the same passage from two backends is merged, both providers recorded
    dup = MultiRetriever([CorpusRetriever(["notes"], dense=False), CorpusRetriever(["notes"], dense=False)])
    merged = run(dup.search("ranger station", 3))
    assert len(merged) == 1 and merged[0].meta["providers_all"] == ["corpus:notes"]
