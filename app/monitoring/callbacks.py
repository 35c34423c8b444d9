"""Where webhooks may go: no server-side request forgery through a callback URL.

- http or https only, with a host;
- never a link-local or cloud-metadata address (169.254.0.0/16, fe80::/10, and names such as
  metadata.google.internal): refused in every environment;
- loopback, private, shared (100.64.0.0/10), unspecified, multicast or reserved addresses: refused in
  production; allowed in development and test (local receivers).

A name is resolved when the URL is given and again before each delivery (what it resolved to may have
changed); redirects are never followed.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from app.config import get_settings
from app.errors import ValidationFailed

_LINK_LOCAL = (ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("fe80::/10"))
_METADATA_NAMES = {"metadata", "metadata.google.internal", "metadata.azure.internal", "instance-data"}

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class Refused(ValueError):
    """A callback URL the registry will not call; str() says why."""


def _is_link_local(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in _LINK_LOCAL)


def _is_internal(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_loopback
        or address.is_private
        or address.is_unspecified
        or address.is_multicast
        or address.is_reserved
        or (isinstance(address, ipaddress.IPv4Address) and address in ipaddress.ip_network("100.64.0.0/10"))
    )


def _addresses(host: str) -> list[Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []  # unknown for now: checked again before each delivery
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def check(url: str, production: bool | None = None) -> None:
    """Raise Refused when the registry must not call `url`."""
    if production is None:
        production = get_settings().environment == "production"
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 (a malformed port raises here)
    except ValueError as exc:
        raise Refused(f"not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise Refused("the callback URL must be http or https")
    if not host:
        raise Refused("the callback URL must name a host")
    if parts.username is not None or parts.password is not None:
        raise Refused("the callback URL may not carry credentials; the secret signs each call")
    if host.rstrip(".").lower() in _METADATA_NAMES:
        raise Refused(f"{host} is a cloud metadata address")
    for address in _addresses(host):
        if _is_link_local(address):
            raise Refused(f"{host} is a link-local or metadata address ({address})")
        if production and _is_internal(address):
            raise Refused(f"{host} is a loopback or private address ({address}), refused in production")


def validated(url: str | None, field: str = "callback_url") -> str | None:
    """The URL, or 422 naming the field."""
    if url is None:
        return None
    try:
        check(url)
    except Refused as exc:
        raise ValidationFailed.one(field, str(exc)) from None
    return url
