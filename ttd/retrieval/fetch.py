"""Fetch a web page safely and keep only its main text.

Redirects are followed by hand so that the SSRF guard sees every hop; bodies are streamed and cut at a
size cap; only text-like content types (and PDF) are read. Pages that extract to nothing, that are error
pages, or that are anti-bot interstitials are returned as skipped with a reason: the research loop must
never summarise a CAPTCHA wall as if it were a source.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from ttd.errors import MissingExtraError
from ttd.retrieval.cache import Cache, cache_key
from ttd.retrieval.http import LazyClient
from ttd.retrieval.ssrf import BlockedURLError, PinnedBackend, SSRFGuard

ALLOWED_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "text/markdown", "application/pdf")
USER_AGENT = "Mozilla/5.0 (compatible; ttd-research/0.1; +https://pypi.org/project/ttd-dr/)"
MIN_TEXT_CHARS = 200
_BLOCK_MARKERS = re.compile(
    r"captcha|are you a robot|are you human|verify you are (a )?human|checking your browser|"
    r"enable javascript|javascript is (disabled|required)|access denied|attention required|just a moment|"
    r"request (was )?blocked|unusual traffic|bot detection|ddos protection|cf-browser-verification",
    re.I,
)
_ERROR_MARKERS = re.compile(
    r"\b(404|403|500|502|503)\b|not found|forbidden|internal server error|"
    r"service unavailable|page (does not|doesn't) exist",
    re.I,
)


@dataclass
class Page:
    """A fetch outcome: `ok` pages have main text; others carry the reason they were skipped."""

    url: str
    final_url: str
    ok: bool
    title: str = ""
    text: str = ""
    reason: str = ""
    status: int = 0
    truncated: bool = False


def classify(title: str, text: str) -> str:
    """Why extracted text is not a usable source ('' when it is): empty, anti-bot or error page."""
    body = text.strip()
    if len(body) < MIN_TEXT_CHARS:
        if _BLOCK_MARKERS.search(f"{title}\n{body}"):
            return "anti-bot page"
        if _ERROR_MARKERS.search(f"{title}\n{body}"):
            return "error page"
        return "empty page"
    head = f"{title}\n{body[:600]}"
    if len(body) < 1500 and _BLOCK_MARKERS.search(head):
        return "anti-bot page"
    if len(body) < 1500 and _ERROR_MARKERS.search(title):
        return "error page"
    return ""


def extract(body: bytes, content_type: str, encoding: str | None) -> tuple[str, str]:
    """(title, main text) of a response body."""
    if content_type == "application/pdf":
        from ttd.retrieval.loaders import pdf_pages

        return "", "\n\n".join(pdf_pages(body))
    text = body.decode(encoding or "utf-8", errors="replace")
    if content_type in {"text/plain", "text/markdown"}:
        return "", text
    try:
        import trafilatura  # noqa: F401
    except ImportError as e:
        raise MissingExtraError("web", "Extracting web pages") from e
    from ttd.retrieval.loaders import html_to_text

    return html_to_text(text)


class PageFetcher:
    """GET pages with timeouts, a size cap, capped redirects, a content-type allowlist and the SSRF guard."""

    def __init__(
        self,
        allow_hosts: list[str] | None = None,
        cache: Cache | None = None,
        timeout_s: float = 15.0,
        max_bytes: int = 5_000_000,
        max_redirects: int = 5,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.guard = SSRFGuard(allow_hosts or [])
        self.cache = cache
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.pins: dict[str, list[str]] = {}  # host -> addresses the guard vetted (see PinnedBackend)
        transport = httpx.AsyncHTTPTransport()
        transport._pool = httpcore.AsyncConnectionPool(  # same pool, but connections go to vetted IPs
            ssl_context=httpx.create_ssl_context(), network_backend=PinnedBackend(self.pins)
        )
        self._client = LazyClient(
            timeout_s, client, transport=transport, follow_redirects=False, headers={"User-Agent": USER_AGENT}
        )
        self.requests = 0
        self.allow_key = sorted(self.guard.hosts) + sorted(str(n) for n in self.guard.nets)

    def _http(self) -> httpx.AsyncClient:
        return self._client.get()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def fetch(self, url: str) -> Page:
        """Fetch and extract `url`; never raises for network or content problems (see `Page.reason`)."""
        # The allow-list is part of the key: a page fetched under --allow-host must not be served to a run
        # that did not allow that host.
        key = cache_key(url, self.max_bytes, self.allow_key)
        if self.cache is not None and (hit := self.cache.get("page", key)) is not None:
            return Page(**hit)
        page = await self._fetch(url)
        if self.cache is not None and (page.ok or page.status):
            self.cache.set("page", key, asdict(page), None if page.ok else 3600.0)
        return page

    async def _fetch(self, url: str) -> Page:
        current = url
        try:
            for _hop in range(self.max_redirects + 1):
                vetted = await self.guard.check(current)
                host = (urlsplit(current).hostname or "").lower()
                if vetted:
                    self.pins[host] = vetted
                else:
                    self.pins.pop(host, None)
                self.requests += 1
                async with self._http().stream("GET", current) as resp:
                    if resp.is_redirect:
                        location = resp.headers.get("location")
                        if not location:
                            return Page(
                                url,
                                current,
                                False,
                                reason="redirect without location",
                                status=resp.status_code,
                            )
                        current = urljoin(current, location)
                        continue
                    if resp.status_code >= 400:
                        return Page(
                            url, current, False, reason=f"HTTP {resp.status_code}", status=resp.status_code
                        )
                    ctype = resp.headers.get("content-type", "text/html").split(";")[0].strip().lower()
                    if ctype not in ALLOWED_TYPES:
                        return Page(
                            url,
                            current,
                            False,
                            reason=f"content type {ctype} not allowed",
                            status=resp.status_code,
                        )
                    declared = int(resp.headers.get("content-length") or 0)
                    if declared > self.max_bytes and ctype == "application/pdf":
                        return Page(url, current, False, reason="too large", status=resp.status_code)
                    body, truncated = bytearray(), False
                    async for part in resp.aiter_bytes():
                        body.extend(part)
                        if len(body) > self.max_bytes:
                            truncated = True
                            del body[self.max_bytes :]
                            break
                    if truncated and ctype == "application/pdf":
                        return Page(url, current, False, reason="too large", status=resp.status_code)
                    title, text = extract(bytes(body), ctype, resp.charset_encoding)
                    why = classify(title, text)
                    if why:
                        return Page(url, current, False, title=title, reason=why, status=resp.status_code)
                    return Page(
                        url,
                        current,
                        True,
                        title=title,
                        text=text.strip(),
                        status=resp.status_code,
                        truncated=truncated,
                    )
            return Page(url, current, False, reason=f"more than {self.max_redirects} redirects")
        except BlockedURLError as e:
            return Page(url, current, False, reason=f"blocked: {e}")
        except (httpx.InvalidURL, ValueError, UnicodeError) as e:
            return Page(url, current, False, reason=f"malformed URL: {type(e).__name__}")
        except httpx.TimeoutException:
            return Page(url, current, False, reason="timeout")
        except httpx.HTTPError as e:
            return Page(url, current, False, reason=f"network error: {type(e).__name__}")
