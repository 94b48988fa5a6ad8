"""One outbound webhook request: a POST bounded in time and size, to an address we allow.

The standard library's http.client, because it does exactly what delivery needs and no more:
no redirect is followed (a 3xx is a failure), the whole request has one deadline, at most
`max_response_bytes` of the answer are read, and only http and https are spoken. The host
is resolved once and every address checked: link-local addresses (169.254.0.0/16, fe80::/10,
where clouds serve instance metadata and credentials), known metadata addresses, multicast,
broadcast, reserved and unspecified ones are refused unless allowed; the connection then goes
to the address checked, so a name that resolves differently a moment later (DNS rebinding)
cannot slip past the check. Loopback and private addresses are allowed by default:
receivers often live on the same network. An operator whose webhook receivers live in known
networks lists them (`allowed_networks`, ROLECALL_WEBHOOK_ALLOWED_NETWORKS): every other
address is refused, and an admin's webhook cannot probe the rest of the operator's network.

What a failure records is Rolecall's own words: the error's class, a timeout, or the HTTP
status. Never a byte of what the remote sent: a viewer key reads an endpoint's last error, and
an endpoint aimed at an SSH or Redis port would otherwise hand back its banner.
"""

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
import urllib.parse
from dataclasses import dataclass

# Instance-metadata services that are not link-local: AWS over IPv6, Alibaba Cloud, Azure's
# WireServer.
METADATA_ADDRESSES = frozenset(
    map(ipaddress.ip_address, ("fd00:ec2::254", "100.100.100.200", "168.63.129.16"))
)
# IPv6 forms that carry an IPv4 address a gateway may reach: NAT64 (RFC 6052's well-known
# prefix) and the deprecated IPv4-compatible addresses; 6to4 is ipaddress's `sixtofour`.
NAT64 = ipaddress.ip_network("64:ff9b::/96")
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
USER_AGENT = "Rolecall-Webhooks/1"


@dataclass(frozen=True)
class OutboundPolicy:
    """Limits of one delivery: its deadline, how much of the answer is read, which addresses."""

    timeout: float = 10.0  # seconds for the whole request, connecting included
    max_response_bytes: int = 64 * 1024
    allow_link_local: bool = False
    # When not empty, the only networks a delivery may reach (the refusals above still hold).
    allowed_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()


@dataclass(frozen=True)
class Outcome:
    """How a delivery went: accepted (2xx) or not, the status if any, what went wrong."""

    ok: bool
    status: int | None = None
    error: str | None = None


def post(url: str, body: bytes, headers: dict[str, str], policy: OutboundPolicy) -> Outcome:
    """POST a body to a webhook URL within the policy's limits; never raises for the network."""
    deadline = time.monotonic() + policy.timeout
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return Outcome(False, error="not an http(s) URL")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = _allowed_address(parts.hostname, port, policy)
        if isinstance(address, str):
            return Outcome(False, error=address)
        connection = _connection(parts.scheme, parts.hostname, port, address, deadline)
        # Socket timeouts bound each wait, not the whole: a receiver trickling its headers or
        # body a byte at a time would hold the delivery (and the endpoint's lease, and a
        # worker thread) for ever. At the deadline the socket is shut, whatever it is doing.
        watchdog = threading.Timer(deadline - time.monotonic(), _shut, [connection])
        watchdog.start()
        try:
            target = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
            headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers}
            connection.request("POST", target, body=body, headers=headers)
            _set_deadline(connection, deadline)
            response = connection.getresponse()
            _read_bounded(connection, response, policy.max_response_bytes, deadline)
        finally:
            watchdog.cancel()
            connection.close()
    except (OSError, http.client.HTTPException, ValueError) as error:
        if time.monotonic() >= deadline:
            return Outcome(False, error=f"timed out: no whole answer in {policy.timeout:g} s")
        # The class only: its message may quote the remote (BadStatusLine: SSH-2.0-OpenSSH…).
        return Outcome(False, error=type(error).__name__)
    if 200 <= response.status < 300:
        return Outcome(True, response.status)
    if 300 <= response.status < 400:
        return Outcome(
            False, response.status, f"HTTP {response.status}: redirects are not followed"
        )
    return Outcome(False, response.status, f"HTTP {response.status}")


def refused(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether an address is one no webhook may reach unless the operator allows it.

    Refused: link-local, metadata services, multicast, unspecified, and IPv4's reserved
    240.0.0.0/4 (255.255.255.255, the broadcast address, among them).
    An IPv6 address that embeds an IPv4 one (mapped, 6to4, NAT64, IPv4-compatible) is judged
    by both: 64:ff9b::a9fe:a9fe reaches 169.254.169.254 through a NAT64 gateway, and
    ::ffff:0.0.0.0 reaches this host as 0.0.0.0 does.
    """
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and (address in NAT64 or address in IPV4_COMPATIBLE):
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None and refused(embedded):
            return True
    return (
        address.is_link_local
        or address.is_multicast
        or address.is_unspecified
        or (isinstance(address, ipaddress.IPv4Address) and address.is_reserved)
        or address in METADATA_ADDRESSES
    )


def _allowed_address(host: str, port: int, policy: OutboundPolicy) -> str | tuple:
    """The first allowed (family, address) the host resolves to, or why there is none."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    for family, _, _, _, sockaddr in infos:
        address = ipaddress.ip_address(sockaddr[0].partition("%")[0])
        if (policy.allow_link_local or not refused(address)) and _within(address, policy):
            return family, sockaddr
    # Not which addresses: the last error is readable with a viewer key.
    return "the host resolves only to refused addresses (link-local, metadata, or not allowed)"


def _within(address, policy: OutboundPolicy) -> bool:
    """Whether the address is in the allowed networks (any address, if none are listed)."""
    if not policy.allowed_networks:
        return True
    mapped = getattr(address, "ipv4_mapped", None) or address
    return any(mapped in network for network in policy.allowed_networks)


def _connection(scheme: str, host: str, port: int, address: tuple, deadline: float):
    """A connection to the address checked, speaking TLS with the host's name if https."""
    remaining = max(0.001, deadline - time.monotonic())
    if scheme == "https":
        connection = http.client.HTTPSConnection(
            host, port, timeout=remaining, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(host, port, timeout=remaining)
    family, sockaddr = address

    def connect_to_checked_address(_, timeout=None, source_address=None):
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(sockaddr)
        except OSError:
            sock.close()
            raise
        return sock

    connection._create_connection = connect_to_checked_address
    return connection


def _shut(connection) -> None:
    """End a connection's socket now: every read or write on it fails at once."""
    if connection.sock is not None:
        with contextlib.suppress(OSError):  # closed already
            connection.sock.shutdown(socket.SHUT_RDWR)


def _set_deadline(connection, deadline: float) -> None:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError("the delivery deadline passed")
    if connection.sock is not None:
        connection.sock.settimeout(remaining)


def _read_bounded(connection, response, limit: int, deadline: float) -> None:
    """Read at most `limit` bytes of the answer, each read within the deadline."""
    read = 0
    while read <= limit:
        _set_deadline(connection, deadline)
        chunk = response.read(min(16 * 1024, limit + 1 - read))
        if not chunk:
            return
        read += len(chunk)
    # More than we read: the rest is dropped with the connection; the status still counts.
