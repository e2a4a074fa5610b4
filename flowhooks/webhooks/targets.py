"""Which addresses a webhook may connect to (the SSRF guard's rule), pure.

Refused unless ``[security] allow_private_targets``: loopback, private (RFC 1918,
and everything else ``ipaddress`` calls private), carrier-grade NAT 100.64/10,
link-local, unique-local fc00::/7, multicast, unspecified, reserved, and cloud
metadata (169.254.169.254, fd00:ec2::254) — also when an IPv4 address hides in an
IPv6 one: IPv4-mapped ``::ffff:a.b.c.d``, 6to4 ``2002::/16``, NAT64 ``64:ff9b::/96``
and Teredo.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_V4_BLOCKED = [
    ipaddress.ip_network(n)
    for n in ("0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "198.18.0.0/15", "240.0.0.0/4")
]
_V6_BLOCKED = [ipaddress.ip_network(n) for n in ("fc00::/7", "fe80::/10", "fd00:ec2::254/128")]
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")


def embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, NAT64, Teredo), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def forbidden(address: str | IPAddress) -> bool:
    """True when a webhook may not connect to this address (an unparsable one included)."""
    try:
        ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    except ValueError:
        return True
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id is not None:
            return True
        inner = embedded_v4(ip)
        if inner is not None:  # judged by the IPv4 address it reaches
            return forbidden(inner)
        if ip in _NAT64_LOCAL or any(ip in n for n in _V6_BLOCKED):
            return True
    elif any(ip in n for n in _V4_BLOCKED):
        return True
    return (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_unspecified
        or ip.is_reserved
        or not ip.is_global
    )


def literal_forbidden_host(url: str) -> str | None:
    """The host of a URL when it is a literal address the guard refuses (config warning)."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    if host is None:
        return None
    if host in ("localhost",) or host.endswith(".localhost"):
        return host
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None
    return host if forbidden(ip) else None
