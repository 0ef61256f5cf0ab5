"""``ingressStatus``: what the (later) Caddy edge would route, derived from the manifest (spec §8)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from angee.api import opt

if TYPE_CHECKING:  # pragma: no cover
    from angee.manifest.model import Manifest


@dataclass
class RouteRef:
    service: str
    url: str


@dataclass
class IngressStatus:
    type: str
    domain: str = opt("")
    routes: list[RouteRef] = field(default_factory=list)


class IngressOps:
    """Ingress status; the edge itself is LATER, so this reports the declared routes only."""

    if TYPE_CHECKING:  # provided by PlatformBase

        def load(self) -> Manifest: ...

    def ingress_status(self) -> IngressStatus:
        """``type`` (default ``none``), ``domain`` (ingress, else operator) and one route per routed service."""
        manifest = self.load()
        kind = manifest.ingress.type or "none"
        domain = manifest.ingress.domain or manifest.operator.domain
        routes: list[RouteRef] = []
        if kind != "none":
            for name in sorted(manifest.services):
                route = manifest.services[name].route
                if route is None:
                    continue
                host = route.host or (f"{name}.{domain}" if domain else "")
                scheme = "http" if manifest.ingress.tls == "off" else "https"
                routes.append(RouteRef(name, f"{scheme}://{host}{route.path}" if host else ""))
        return IngressStatus(kind, domain, routes)
