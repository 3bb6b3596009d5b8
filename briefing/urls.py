"""URLs: the canonical form that identifies an article, and which hosts we may fetch.

``canonical_url`` makes the links of one article compare equal however a
feed decorates them (tracking parameters, fragments, case, default ports).
``is_public_address`` keeps links found *inside* feeds from reaching the
machine's own network (SSRF) unless the config allows it.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "piwik_", "hsa_", "_hs")
_TRACKING_NAMES = {"fbclid", "gclid", "dclid", "msclkid", "yclid", "igshid", "mkt_tok", "cmpid", "ocid",
                   "ref_src", "ref_url", "spm", "_ga", "guccounter", "guce_referrer", "guce_referrer_sig"}
_DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_url(url: str) -> str:
    """Lower-case scheme and host, no default port, fragment or tracking parameters.

    ``http`` and ``https`` are folded to ``https`` so one article reached both
    ways is one article. Other query parameters keep their order.
    """
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url.strip()
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        return url.strip()
    host = (parts.hostname or "").lower().rstrip(".")
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not k.lower().startswith(_TRACKING_PREFIXES) and k.lower() not in _TRACKING_NAMES]
    path = parts.path or "/"
    return urlunsplit(("https", netloc, path, urlencode(query, doseq=True), ""))


def is_http_url(url: str) -> bool:
    """An http(s) URL with a host, however it is written (``HTTP://``, a leading space): one we can fetch."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def is_written_http_url(text: str) -> bool:
    """Text that starts ``http://`` or ``https://`` exactly as written: what a digest shows as a link.

    Not ``is_http_url``: an article's location is kept as its source wrote it, and
    a front matter ``url: HTTPS://…`` (kept by ``is_http_url``) has never been a
    digest link, while ``http:///x`` (no host) has. Changing either would change digests.
    """
    return text.startswith(("http://", "https://"))


def is_public_address(address: str) -> bool:
    """True for a globally routable IP; False for loopback, private, link-local, reserved …"""
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast
