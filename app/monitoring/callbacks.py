"""Where webhooks may go: no server-side request forgery through a callback URL.

- http or https only, with a host;
- never a link-local or cloud-metadata address (169.254.0.0/16, fe80::/10, fec0::/10, Alibaba
  Cloud's 100.100.100.200, AWS's fd00:ec2::254, and names such as metadata.google.internal):
  refused in every environment;
- no control character anywhere in the URL (a line break stored would be a header injected were it
  ever written unencoded; spaces and other characters are percent-encoded on the wire);
- loopback, private, shared (100.64.0.0/10), unspecified, multicast or reserved addresses: refused in
  production; allowed in development and test (local receivers).

A name is resolved when the URL is given and again before each round of deliveries (up to 200 POSTs
sent together), in every environment (what it resolved to may have changed); the round's POSTs then
connect to the very address checked (the name kept in Host and for TLS), so a second lookup cannot be
rebound elsewhere (DNS rebinding); a name that does not resolve at delivery is not called. IPv6
spellings of an IPv4 address (mapped, translated, compatible, NAT64, 6to4) are judged as that
address. Redirects
are never followed.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from app.config import get_settings
from app.errors import ValidationFailed

_LINK_LOCAL = (
    ipaddress.ip_network("169.254.0.0/16"),
    ipaddress.ip_network("fe80::/10"),
    ipaddress.ip_network("fec0::/10"),  # site-local (RFC 3879 deprecated it; some stacks still route it)
    # Cloud metadata services outside the link-local range: Alibaba Cloud's (100.100.100.200) and
    # the rest of the block its internal services answer from; AWS's IPv6 one.
    ipaddress.ip_network("100.100.100.0/24"),
    ipaddress.ip_network("fd00:ec2::254/128"),
)
# IPv6 prefixes whose last 32 bits are an IPv4 address: NAT64's well-known and local-use prefixes
# (RFC 6052, RFC 8215), SIIT's IPv4-translated form (RFC 2765's ::ffff:0:0/96), IPv4-compatible.
_EMBEDDING = (
    ipaddress.ip_network("64:ff9b::/96"),
    ipaddress.ip_network("64:ff9b:1::/48"),
    ipaddress.ip_network("::ffff:0:0:0/96"),
)
_COMPATIBLE = ipaddress.ip_network("::/96")
# IANA's special-purpose IPv4 block (RFC 6890; dummy and relay addresses): never a webhook's.
_SPECIAL_PURPOSE = ipaddress.ip_network("192.0.0.0/24")
_METADATA_NAMES = {"metadata", "metadata.google.internal", "metadata.azure.internal", "instance-data"}

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class Refused(ValueError):
    """A callback URL the registry will not call; str() says why."""


def _embedded(address: Address) -> Address:
    """The IPv4 address an IPv6 one carries (mapped, NAT64, 6to4, compatible), else itself."""
    if not isinstance(address, ipaddress.IPv6Address):
        return address
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if any(address in prefix for prefix in _EMBEDDING) or (address in _COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def _is_link_local(address: Address) -> bool:
    address = _embedded(address)
    return any(address in network for network in _LINK_LOCAL)


def _is_internal(address: Address) -> bool:
    address = _embedded(address)
    return (
        address.is_loopback
        or address.is_private
        or address.is_unspecified
        or address.is_multicast
        or address.is_reserved
        or (isinstance(address, ipaddress.IPv4Address) and address in ipaddress.ip_network("100.64.0.0/10"))
        or (isinstance(address, ipaddress.IPv4Address) and address in _SPECIAL_PURPOSE)
    )


def _addresses(host: str) -> list[Address]:
    try:
        return [ipaddress.ip_address(host.rstrip(".") if host[:1].isdigit() else host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []  # unknown for now: checked again before delivering
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def check(url: str, production: bool | None = None) -> list[Address]:
    """Raise Refused when the registry must not call `url`; else the addresses its host has now
    (none when the name does not resolve now)."""
    if production is None:
        production = get_settings().environment == "production"
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 (a malformed port raises here)
    except ValueError as exc:
        raise Refused(f"not a valid URL: {exc}") from None
    if any(ord(character) < 0x20 or ord(character) == 0x7F for character in url):
        raise Refused("the callback URL may not contain control characters (line breaks, tabs...)")
    if parts.scheme not in ("http", "https"):
        raise Refused("the callback URL must be http or https")
    if not host:
        raise Refused("the callback URL must name a host")
    if any(character.isspace() or ord(character) < 0x21 for character in host):
        raise Refused("the callback URL's host may not contain spaces or control characters")
    if parts.username is not None or parts.password is not None:
        raise Refused("the callback URL may not carry credentials; the secret signs each call")
    _wire_name(host)  # raises Refused for a name that has no ASCII form
    if host.rstrip(".").lower() in _METADATA_NAMES:
        raise Refused(f"{host} is a cloud metadata address")
    addresses = _addresses(host)
    for address in addresses:
        if _is_link_local(address):
            raise Refused(f"{host} is a link-local or metadata address ({address})")
        if production and _is_internal(address):
            raise Refused(f"{host} is a loopback or private address ({address}), refused in production")
    return addresses


@dataclass(frozen=True)
class Target:
    """Where a delivery connects and what it sends as the URL's host: the address checked, and the
    name (ASCII, as on the wire) kept in Host and as the TLS server name."""

    scheme: str
    address: str
    port: int
    host: str  # the Host header: the name, and the port when the URL gives one
    server_name: str  # TLS: the certificate is verified against this name
    path: str  # the request target: path and query, percent-encoded as given


def _wire_name(host: str) -> str:
    """The host as it goes on the wire: an IP address as it is, a name in its ASCII (IDNA) form."""
    if ":" in host:
        return host  # an IPv6 address
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise Refused(f"not a valid host name: {exc}") from None


# What the request target keeps as it is; anything else (spaces, control characters, non-ASCII) is
# percent-encoded, an existing %XX left alone.
_PATH_SAFE = "/%!$&'()*+,;=:@-._~"
_QUERY_SAFE = _PATH_SAFE + "?"


def pinned(url: str, production: bool) -> Target:
    """Where to deliver to `url`: checked now, and aimed at the address that was checked (the name
    kept in Host and as the TLS server name). Refused when the name does not resolve now."""
    addresses = check(url, production)
    if not addresses:
        raise Refused("the callback URL's host does not resolve now")
    parts = urlsplit(url)
    name = _wire_name(parts.hostname or "")
    on_wire = f"[{name}]" if ":" in name else name
    path = quote(parts.path or "/", safe=_PATH_SAFE)
    return Target(
        scheme=parts.scheme,
        address=str(addresses[0]),
        port=parts.port or (443 if parts.scheme == "https" else 80),
        host=on_wire if parts.port is None else f"{on_wire}:{parts.port}",
        server_name=name,
        path=path + ("?" + quote(parts.query, safe=_QUERY_SAFE) if parts.query else ""),
    )


def validated(url: str | None, field: str = "callback_url") -> str | None:
    """The URL, or 422 naming the field."""
    if url is None:
        return None
    try:
        check(url)
    except Refused as exc:
        raise ValidationFailed.one(field, str(exc)) from None
    return url
