"""Host → tenant resolution cost with 4 regions and with 400: it must not grow with the count.

Both registries are measured in one run, so the ratio is what matters, not the absolute time.
"""

from __future__ import annotations

import copy
import timeit
from pathlib import Path

import yaml

from app.tenants.loader import validate
from app.tenants.registry import TenantRegistry

ROOT = Path(__file__).resolve().parent.parent
HOSTS = ["MySchool.Mosreg.RU.:443", "kaluga.localhost:8000", "evil.example", "localhost:8000"]


def registry_with(count: int) -> TenantRegistry:
    raw = yaml.safe_load((ROOT / "config" / "regions.yaml").read_text(encoding="utf-8"))
    template = raw["regions"]["kaluga"]
    for index in range(count - len(raw["regions"])):
        region = copy.deepcopy(template)
        region["hosts"] = [f"school-{index}.example.ru"]
        raw["regions"][f"region-{index}"] = region
    return TenantRegistry(validate(raw, "bench"), dev_hosts=True)


def per_call_ns(registry: TenantRegistry, repeat: int = 5, number: int = 50_000) -> float:
    def run():
        for host in HOSTS:
            registry.resolve(host)

    best = min(timeit.repeat(run, repeat=repeat, number=number))
    return best / (number * len(HOSTS)) * 1e9


def main() -> None:
    small, large = registry_with(4), registry_with(400)
    small_ns, large_ns = per_call_ns(small), per_call_ns(large)
    print(
        f"resolve(): {len(small)} regions {small_ns:.0f} ns/call, "
        f"{len(large)} regions {large_ns:.0f} ns/call, ratio {large_ns / small_ns:.2f}"
    )


if __name__ == "__main__":
    main()
