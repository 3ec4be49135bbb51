"""Fetch one web page over http(s), safely: the bytes of an article page, or a clear error.

What it does: follows a URL and its redirects (at most ``max_redirects``) with the standard
library, within a time limit for the whole page, a size cap and a list of accepted content
types. Before each hop it resolves the host itself, refuses loopback, private, link-local,
shared, reserved and cloud metadata addresses (unless ``allow_private``: tests, intranets),
and connects to the address it checked, so a name that resolves differently a second time
cannot slip through. Every failure is a ``FetchError`` with a one-line message.

What it does not do: extract text (``rag.articles.webpage``), run scripts, send cookies or use the
environment's proxies, decompress (it asks for ``identity``), or retry.

>>> refused_reason(ipaddress.ip_address("169.254.169.254"))
'a cloud metadata address'
>>> refused_reason(ipaddress.ip_address("93.184.215.14")) is None
True
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from email.message import Message
from urllib.parse import quote, urljoin, urlsplit

from rag.errors import FetchError

SCHEMES = ("http", "https")
USER_AGENT = "rag-article-assistant/0.1 (reads one news article on a user's request)"
REDIRECTS = frozenset({301, 302, 303, 307, 308})
CHUNK = 64 * 1024
URL_SAFE = "/%:@!$&'()*+,;=?~-._"  # kept as they are in a path or query: already escaped
# Addresses where clouds serve instance credentials (AWS, GCP, Azure; AWS IPv6; Alibaba).
METADATA = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
ALLOW_HINT = "set RAG_ALLOW_PRIVATE_URLS=1 to read pages on this machine or its network"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class FetchLimits:
    """How long, how big and how many redirects one page may take."""

    timeout: float = 15.0  # seconds for the whole page, connecting included
    max_bytes: int = 5_000_000
    max_redirects: int = 5


DEFAULT_LIMITS = FetchLimits()


@dataclass(frozen=True)
class Page:
    """What a server sent for a URL: the final address (after redirects) and the body."""

    url: str
    content_type: str
    charset: str | None
    body: bytes


def refused_reason(ip: IPAddress) -> str | None:
    """Why an address is not fetched from ('a loopback address'...), or None if public."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip in METADATA:
        return "a cloud metadata address"
    for kind in ("loopback", "link_local", "private", "multicast", "unspecified", "reserved"):
        if getattr(ip, f"is_{kind}"):
            return f"a {kind.replace('_', '-')} address"
    return None if ip.is_global else "a non-public address"


def check_url(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL, or a FetchError saying what is wrong.

    >>> check_url("https://example.com/a?b=1")
    ('https', 'example.com', 443)
    """
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in SCHEMES:
        raise FetchError(f"{url}: only http:// and https:// addresses can be read.")
    try:
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError:
        raise FetchError(f"{url}: the port is not a number; check the address.") from None
    if not parts.hostname:
        raise FetchError(f"{url}: the address has no host name; check it.")
    return parts.scheme.lower(), parts.hostname, port


def _getaddrinfo(host: str, port: int, timeout: float) -> list:
    """socket.getaddrinfo within ``timeout`` (TimeoutError past it). It has no time limit of
    its own, so it runs in a daemon thread: a lookup that hangs is left behind and never
    keeps the process from exiting."""
    lookup: Future[list] = Future()

    def run() -> None:
        try:
            lookup.set_result(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except BaseException as exc:  # handed to the caller
            lookup.set_exception(exc)

    threading.Thread(target=run, name="rag-resolve", daemon=True).start()
    return lookup.result(timeout=timeout)


def resolve(url: str, host: str, port: int, allow_private: bool, timeout: float) -> str:
    """The address to connect to for host: every address it resolves to must be public."""
    try:
        infos = _getaddrinfo(host, port, timeout)
    except (socket.gaierror, UnicodeError):
        raise FetchError(f"{url}: cannot find the server {host}; check the address.") from None
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    for ip in addresses:
        reason = refused_reason(ip)
        if reason and not allow_private:
            shown = host if host == str(ip) else f"{host} ({ip})"
            raise FetchError(
                f"{url}: {shown} is {reason}; such pages are not fetched ({ALLOW_HINT})."
            )
    return str(addresses[0])


class _PinnedHTTP(http.client.HTTPConnection):
    """An HTTP connection to an address checked beforehand, whatever the host resolves to now."""

    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """The same over TLS; the certificate is checked against the host name, as usual."""

    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self.address = address

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def _content_type(header: str | None) -> tuple[str, str | None]:
    """'text/html; charset=UTF-8' -> ('text/html', 'UTF-8')."""
    if not header:
        return "", None
    message = Message()
    message["content-type"] = header
    charset = message.get_param("charset")
    return message.get_content_type(), charset if isinstance(charset, str) else None


def _read_body(response: http.client.HTTPResponse, url: str, limits: FetchLimits, deadline: float):
    """The response body, refused past the size cap or the deadline."""
    length = response.getheader("Content-Length")
    if length and length.isdigit() and int(length) > limits.max_bytes:
        raise FetchError(_too_large(url, f"{int(length):,} bytes", limits))
    body = bytearray()
    while chunk := response.read1(CHUNK):
        body += chunk
        if len(body) > limits.max_bytes:
            raise FetchError(_too_large(url, "the page", limits))
        if time.monotonic() > deadline:
            raise TimeoutError
    return bytes(body)


def _too_large(url: str, size: str, limits: FetchLimits) -> str:
    return (
        f"{url}: {size} is over the {limits.max_bytes:,}-byte limit for one page; "
        "save the article's text and add it as a file."
    )


def _http_error(url: str, status: int, reason: str) -> FetchError:
    if status in (404, 410):
        return FetchError(
            f"{url}: the server has no such page (HTTP {status} {reason}); check the address."
        )
    return FetchError(
        f"{url}: the server answered HTTP {status} {reason}; check the address or try later."
    )


def _hop(
    url: str, accept: tuple[str, ...], limits: FetchLimits, allow_private: bool, deadline: float
) -> tuple[str | None, Page | None]:
    """One request: (the next URL, None) for a redirect, else (None, the page)."""
    scheme, host, port = check_url(url)
    left = max(0.1, deadline - time.monotonic())
    address = resolve(url, host, port, allow_private, left)
    connection = (_PinnedHTTPS if scheme == "https" else _PinnedHTTP)(host, port, address, left)
    parts = urlsplit(url)
    target = quote(parts.path or "/", safe=URL_SAFE)
    target += f"?{quote(parts.query, safe=URL_SAFE)}" if parts.query else ""
    headers = {"User-Agent": USER_AGENT, "Accept": ", ".join(accept), "Accept-Encoding": "identity"}
    try:
        connection.request("GET", target, headers=headers)
        response = connection.getresponse()
        if response.status in REDIRECTS and response.getheader("Location"):
            return urljoin(url, response.getheader("Location")), None
        if response.status != 200:
            raise _http_error(url, response.status, response.reason)
        content_type, charset = _content_type(response.getheader("Content-Type"))
        if content_type not in accept:
            raise FetchError(
                f"{url}: the server sent {content_type or 'no content type'}, not a web page "
                f"({', '.join(accept)}); give the address of an article page."
            )
        return None, Page(url, content_type, charset, _read_body(response, url, limits, deadline))
    finally:
        connection.close()


def fetch_page(
    url: str,
    accept: tuple[str, ...] = ("text/html",),
    limits: FetchLimits | None = None,
    allow_private: bool = False,
) -> Page:
    """The page at url (redirects followed, each hop checked), or a FetchError."""
    limits = limits or DEFAULT_LIMITS
    deadline = time.monotonic() + limits.timeout
    current = url.strip()
    try:
        for _ in range(limits.max_redirects + 1):
            current, page = _hop(current, accept, limits, allow_private, deadline)
            if page is not None:
                return page
    except TimeoutError:
        raise FetchError(
            f"{url}: no complete answer within {limits.timeout:g} s; the server is too slow "
            "or unreachable, try again later."
        ) from None
    except ssl.SSLError as exc:
        raise FetchError(f"{url}: the secure connection failed ({exc.reason}).") from None
    except (OSError, http.client.HTTPException) as exc:
        raise FetchError(f"{url}: cannot read the page ({exc}); check the address.") from None
    raise FetchError(
        f"{url}: more than {limits.max_redirects} redirects (a redirect loop?); "
        "open it in a browser and give the final address."
    )
