"""The topologies the synth benchmark runs: the JSON form of the ``ecrReplication`` context.

Every destination is in another account than its source (cross-account) and every rule has
repository prefixes, so each destination stack holds the full set of resources: registry
policy, role, role policy and one repository creation template per namespace.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Regions of the aws partition; destinations cycle through them so stacks differ in region too.
REGIONS = (
    "eu-west-1",
    "eu-central-1",
    "us-west-2",
    "ap-southeast-2",
    "ca-central-1",
    "eu-north-1",
    "ap-northeast-1",
    "sa-east-1",
)
SOURCE_REGION = "us-east-1"
PREFIXES = ("prod/", "shared/")


@dataclass(frozen=True, kw_only=True, slots=True)
class SynthCase:
    """One synth benchmark size: ``sources`` source registries, each to the same destinations."""

    sources: int
    destinations: int

    @property
    def label(self) -> str:
        return f"{self.sources} source x {self.destinations} dest"

    @property
    def stacks(self) -> int:
        return self.sources + self.destinations

    def topology(self) -> dict[str, Any]:
        destinations = [
            {"account": f"{100000000000 + i:012d}", "region": REGIONS[i % len(REGIONS)]}
            for i in range(self.destinations)
        ]
        return {
            "sources": [
                {
                    "account": f"{555444333000 + s:012d}",
                    "region": SOURCE_REGION,
                    "rules": [{"repositoryPrefixes": list(PREFIXES), "destinations": destinations}],
                }
                for s in range(self.sources)
            ]
        }


SYNTH_CASES = (
    SynthCase(sources=1, destinations=1),
    SynthCase(sources=1, destinations=10),
    SynthCase(sources=1, destinations=25),
    SynthCase(sources=5, destinations=25),
)
