"""Where the node may open outbound connections (pulls, webhooks): the address policy.

The rule, applied to every address a host name resolves to (all of them must pass):

- public (globally routable) addresses pass;
- private and other non-global ranges (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7, …) pass
  only when ``YAOSU_PULL_ALLOW`` lists them, as a CIDR that contains the address or as the host
  name the address was reached by (``data.intranet.gov.cn``, or ``*.intranet.gov.cn`` for any
  name under it);
- loopback (127/8, ::1, ``localhost`` and ``*.localhost``) passes only when ``YAOSU_PULL_ALLOW``
  holds a CIDR that lies wholly inside loopback (``127.0.0.1/32``, ``::1/128``): a broad entry
  such as ``0.0.0.0/0`` or a host name never opens it;
- link-local, unspecified (0/8, ::), multicast, reserved and the cloud metadata addresses never
  pass, whatever is listed.

IPv6 forms that carry an IPv4 address (mapped ``::ffff:a.b.c.d``, compatible ``::a.b.c.d``,
NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``, Teredo) are judged by the IPv4 address inside; a
host written as a number in any ``inet_aton`` spelling (``2130706433``, ``0x7f.1``,
``017700000001``, ``127.1``) is read as that address without asking DNS.

A name is resolved once; the connection then goes to the checked address (the ``Host`` header,
TLS SNI and certificate check keep the name), so a DNS answer that changes between the check
and the connection (rebinding) cannot move it. Redirects are followed by hand, each hop checked
again, at most ``MAX_REDIRECTS`` of them.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import unicodedata
import urllib.parse
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from yaosu.kit.errors import Forbidden, Invalid

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_REDIRECTS = 5

# Instance metadata services of the common clouds (AWS, GCP, Azure, Alibaba, Tencent, Huawei,
# Oracle, ECS task metadata); never reachable, whatever the allow-list says.
METADATA = tuple(
    ipaddress.ip_network(n)
    for n in (
        "169.254.169.254/32",
        "169.254.170.2/32",
        "169.254.0.23/32",
        "100.100.100.200/32",
        "168.63.129.16/32",
        "192.0.0.192/32",
        "fd00:ec2::/32",
        "fd20:ce::254/128",
    )
)
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")
_LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_SIIT = ipaddress.ip_network("::ffff:0:0:0/96")

REASONS: dict[str, tuple[str, str]] = {
    "loopback": ("a loopback address (this machine)", "本机回环地址"),
    "link_local": ("a link-local address", "链路本地地址"),
    "metadata": ("a cloud metadata address", "云平台元数据地址"),
    "unspecified": ("an unspecified address", "未指定地址"),
    "multicast": ("a multicast address", "组播地址"),
    "reserved": ("a reserved address", "保留地址"),
    "private": (
        "a private address not listed in YAOSU_PULL_ALLOW",
        "未列入 YAOSU_PULL_ALLOW 的内网地址",
    ),
    "local_socket": ("a local socket of this machine", "本机套接字"),
}


class AddressRefused(Forbidden):
    """The address is one the node never connects to for a pull or a webhook."""

    code = "address_forbidden"

    def __init__(self, host: str, address: str, reason: str, *, code: str | None = None) -> None:
        en, zh = REASONS[reason]
        shown = host if host == address else f"{host} ({address})"
        super().__init__(
            f"The address {shown} is refused: it is {en}.",
            f"地址 {shown} 被拒绝：它是{zh}。",
            code=code,
            host=host,
            address=address,
            reason=reason,
        )


class HostUnresolved(OSError):
    """A host name that does not resolve (at run time this ends the pull or delivery)."""


# --- the allow-list -----------------------------------------------------------------------------
_NAME = re.compile(
    r"^(\*\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$"
)


@dataclass(frozen=True)
class NetPolicy:
    """The parsed ``YAOSU_PULL_ALLOW``: CIDRs and host names (``*.`` for any name below)."""

    networks: tuple[IPNetwork, ...] = ()
    hosts: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def parse(cls, text: str | None) -> NetPolicy:
        """Entries separated by commas or spaces; raises ValueError naming a bad entry."""
        networks: list[IPNetwork] = []
        hosts: set[str] = set()
        for raw in re.split(r"[,\s]+", text or ""):
            entry = raw.strip().lower().rstrip(".")
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
                continue
            except ValueError:
                pass
            if not _NAME.match(entry):
                raise ValueError(f"YAOSU_PULL_ALLOW: {raw!r} is neither a CIDR nor a host name")
            hosts.add(entry)
        return cls(tuple(networks), frozenset(hosts))

    def names(self, host: str | None) -> bool:
        if not host:
            return False
        name = host.lower().rstrip(".")
        if name in self.hosts:
            return True
        return any(h.startswith("*.") and name.endswith(h[1:]) for h in self.hosts)

    def verdict(self, address: IPAddress, host: str | None = None) -> str | None:
        """None when the node may connect to ``address`` (reached by ``host``), else why not."""
        reason = classify(address)
        if reason is None:
            return None
        plain = effective(address)
        if reason == "private":
            if self.names(host) or any(_within(plain, n) for n in self.networks):
                return None
        elif reason == "loopback" and any(
            _is_loopback_net(n) and _within(plain, n) for n in self.networks
        ):
            return None
        return reason


def node_policy() -> NetPolicy:
    """The node's policy, from ``YAOSU_PULL_ALLOW``."""
    from yaosu.config import get_settings

    return NetPolicy.parse(get_settings().pull_allow)


def _within(address: IPAddress, network: IPNetwork) -> bool:
    return address.version == network.version and address in network


def _is_loopback_net(network: IPNetwork) -> bool:
    return any(network.version == lo.version and network.subnet_of(lo) for lo in _LOOPBACK)  # type: ignore[arg-type]


# --- reading and classifying addresses ----------------------------------------------------------
def _number(part: str) -> int | None:
    if re.fullmatch(r"0x[0-9a-f]*", part):
        return int(part[2:] or "0", 16)
    if re.fullmatch(r"0[0-7]*", part):
        return int(part, 8)
    if re.fullmatch(r"[1-9][0-9]*", part):
        return int(part)
    return None


def parse_literal(host: str) -> IPAddress | None:
    """The address a host written as a number stands for, read as ``inet_aton`` and URL
    parsers read it (``127.1``, ``0x7f.1``, ``2130706433``, ``[::ffff:127.0.0.1]``, zone ids);
    None for a name."""
    h = host.strip().lower()
    if h.startswith("[") and h.endswith("]"):
        h = h[1:-1]
    if ":" in h:
        h = h.replace("%25", "%", 1)
        try:
            return ipaddress.IPv6Address(h)
        except ValueError:
            return None
    h = h.rstrip(".") if h.count(".") > 0 else h
    parts = h.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers = [_number(p) for p in parts]
    if any(n is None for n in numbers):
        return None
    values = [n for n in numbers if n is not None]
    *head, last = values
    if any(v > 255 for v in head) or last >= 1 << (8 * (5 - len(values))):
        return None
    value = 0
    for v in head:
        value = value << 8 | v
    value = value << (8 * (5 - len(values))) | last
    return ipaddress.IPv4Address(value)


def _embedded_v4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    plain = ipaddress.IPv6Address(int(address))  # without a zone id
    n = int(plain)
    if plain.ipv4_mapped is not None:
        return plain.ipv4_mapped
    if n >> 32 == 0 and n > 1:  # IPv4-compatible ::a.b.c.d
        return ipaddress.IPv4Address(n & 0xFFFFFFFF)
    if plain in _SIIT or plain in _NAT64:
        return ipaddress.IPv4Address(n & 0xFFFFFFFF)
    if plain.sixtofour is not None:
        return plain.sixtofour
    if plain.teredo is not None:
        return plain.teredo[1]
    return None


def effective(address: IPAddress) -> IPAddress:
    """The address traffic really goes to: the IPv4 inside IPv6 transition forms."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_v4(address)
        return inner if inner is not None else ipaddress.IPv6Address(int(address))
    return address


def classify(address: IPAddress) -> str | None:
    """None for a public address, else one of ``REASONS``' keys."""
    ip = effective(address)
    if any(_within(ip, n) for n in METADATA):
        return "metadata"
    if ip.is_unspecified or _within(ip, _THIS_NETWORK):
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link_local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_reserved or ip == ipaddress.IPv4Address("255.255.255.255"):
        return "reserved"
    if _within(ip, _NAT64_LOCAL) or not ip.is_global:
        return "private"
    return None


def is_loopback_name(host: str) -> bool:
    name = host.lower().rstrip(".")
    return name == "localhost" or name.endswith(".localhost")


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` stands for: a literal without DNS, ``localhost`` names as
    loopback, anything else through ``getaddrinfo`` (once). Raises HostUnresolved."""
    literal = parse_literal(host)
    if literal is not None:
        return [literal]
    if is_loopback_name(host):
        return [ipaddress.IPv4Address("127.0.0.1"), ipaddress.IPv6Address("::1")]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise HostUnresolved(f"cannot resolve {host}: {exc}") from None
    found: list[IPAddress] = []
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]))
        if ip not in found:
            found.append(ip)
    if not found:
        raise HostUnresolved(f"cannot resolve {host}")
    return found


def check_host(
    host: str,
    port: int,
    policy: NetPolicy,
    *,
    code: str | None = None,
    unresolved_ok: bool = False,
) -> list[IPAddress]:
    """The addresses of ``host``, each checked against ``policy``; raises AddressRefused for
    the first refused one. A name that does not resolve gives ``[]`` when ``unresolved_ok``
    (asked for now, checked again when it runs), else HostUnresolved."""
    try:
        addresses = resolve(host, port)
    except HostUnresolved:
        if unresolved_ok:
            return []
        raise
    name = None if parse_literal(host) is not None else host
    for ip in addresses:
        reason = policy.verdict(ip, name)
        if reason is not None:
            raise AddressRefused(host, str(ip), reason, code=code)
    return addresses


# --- HTTP ---------------------------------------------------------------------------------------
def _refuse_host(host: str, policy: NetPolicy, code: str | None) -> None:
    """Raise AddressRefused when ``host``, read as a resolver or a browser might read it
    (compatibility characters folded, percent-escapes decoded, cut at a NUL or a space as
    ``inet_aton`` does), names a refused address."""
    text = unicodedata.normalize("NFKC", urllib.parse.unquote(host)).strip()
    text = re.split(r"[\x00\s]", text, maxsplit=1)[0]
    if is_loopback_name(text):
        address: IPAddress | None = ipaddress.IPv4Address("127.0.0.1")
    else:
        address = parse_literal(text)
    if address is not None:
        reason = policy.verdict(address)
        if reason is not None:
            raise AddressRefused(host, str(address), reason, code=code)


def _refused_spelling(url: str, policy: NetPolicy, code: str | None) -> None:
    """A URL the HTTP client cannot parse may still name a refused address in a spelling other
    readers accept (``127.000.000.001``, ``0177.0.0.1``, full-width ``１２７.0.0.1`` or
    ``ｌｏｃａｌｈｏｓｔ``): say so (AddressRefused) rather than only "not an HTTP address"."""
    try:
        parts = urllib.parse.urlsplit(unicodedata.normalize("NFKC", url.strip()))
        host = parts.hostname or ""
    except ValueError:
        return
    if parts.scheme.lower() in ("http", "https") and host:
        _refuse_host(host, policy, code)


def _not_http() -> Invalid:
    return Invalid(
        "Not an HTTP address: give one starting with http:// or https:// and a host.",
        "HTTP 地址无效：应以 http:// 或 https:// 开头并包含主机名。",
        code="invalid_url",
    )


def http_url(url: str, policy: NetPolicy | None = None, code: str | None = None) -> httpx.URL:
    """``url`` parsed as the HTTP client will use it; http(s) with a host, else Invalid (or
    AddressRefused when ``policy`` is given and another reading of it names a refused address).
    A host name with percent-escapes (``loc%61lhost``, ``127%2e0%2e0%2e1``: browsers decode
    them, DNS never holds them) is refused as what it decodes to, else Invalid."""
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, ValueError, TypeError):
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.raw_host:
        if policy is not None:
            _refused_spelling(url, policy, code)
        raise _not_http()
    host = parsed.raw_host.decode("ascii")
    if "%" in host and ":" not in host:
        if policy is not None:
            _refuse_host(host, policy, code)
        raise _not_http()
    return parsed


def _port(url: httpx.URL) -> int:
    return url.port or (443 if url.scheme == "https" else 80)


def check_url(
    url: str, policy: NetPolicy, *, code: str | None = None, unresolved_ok: bool = False
) -> httpx.URL:
    """Parse and check an http(s) address (every address its host resolves to)."""
    parsed = http_url(url, policy, code)
    check_host(
        parsed.raw_host.decode("ascii"),
        _port(parsed),
        policy,
        code=code,
        unresolved_ok=unresolved_ok,
    )
    return parsed


def _pinned(
    client: httpx.Client,
    method: str,
    url: httpx.URL,
    policy: NetPolicy,
    code: str | None,
    headers: Mapping[str, str] | None,
    content: bytes | None,
) -> httpx.Request:
    host = url.raw_host.decode("ascii")
    addresses = check_host(host, _port(url), policy, code=code)
    first = addresses[0]
    if isinstance(first, ipaddress.IPv6Address):
        first = first.ipv4_mapped or ipaddress.IPv6Address(int(first))  # no zone id
    target = str(first)
    sent = httpx.Headers(dict(headers or {}))
    sent["Host"] = url.netloc.decode("ascii")
    extensions: dict[str, Any] = {}
    if url.scheme == "https" and parse_literal(host) is None:
        extensions["sni_hostname"] = host
    return client.build_request(
        method, url.copy_with(host=target), headers=sent, content=content, extensions=extensions
    )


@contextmanager
def open_http(
    method: str,
    url: str,
    policy: NetPolicy,
    *,
    code: str | None = None,
    headers: Mapping[str, str] | None = None,
    content: bytes | None = None,
    timeout: float = 30,
    max_redirects: int = MAX_REDIRECTS,
) -> Iterator[httpx.Response]:
    """Send one request to the checked address of ``url`` and yield the streamed response.
    Redirects (at most ``max_redirects``; 0 hands the redirect back) are checked hop by hop.
    Raises AddressRefused, HostUnresolved, Invalid (not an http(s) URL) or httpx errors."""
    current = http_url(url, policy, code)
    # trust_env off: no proxy from the environment may carry the request past the check.
    with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
        for _ in range(max_redirects + 1):
            request = _pinned(client, method, current, policy, code, headers, content)
            response = client.send(request, stream=True)
            location = response.headers.get("location")
            if max_redirects and response.is_redirect and location:
                response.close()
                current = http_url(str(current.join(location)), policy, code)
                if response.status_code == 303 or (
                    response.status_code in (301, 302) and method == "POST"
                ):
                    method, content = "GET", None
                continue
            try:
                yield response
            finally:
                response.close()
            return
        raise httpx.TooManyRedirects(f"more than {max_redirects} redirects", request=request)
