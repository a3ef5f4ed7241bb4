"""Which Azure regions offer the Speech service, and what to say about a name that is not one.

The one place that decides whether a region name is known: the resolver refuses an unknown one
for ``run``, ``plan`` and ``doctor`` alike before anything is sent ("did you mean westeurope?"),
instead of a run resolving DNS and retrying until it aborts. A region too new for this list can
still be reached through its endpoint URL (``--endpoint``).
"""

from __future__ import annotations

import difflib

# Azure regions that offer the Speech service (Azure docs, "Speech service supported regions").
AZURE_SPEECH_REGIONS = frozenset({
    "australiaeast", "brazilsouth", "canadacentral", "canadaeast", "centralindia", "centralus", "eastasia",
    "eastus", "eastus2", "francecentral", "germanywestcentral", "italynorth", "japaneast", "japanwest",
    "jioindiawest", "koreacentral", "northcentralus", "northeurope", "norwayeast", "qatarcentral",
    "southafricanorth", "southcentralus", "southeastasia", "swedencentral", "switzerlandnorth",
    "switzerlandwest", "uaenorth", "uksouth", "ukwest", "westcentralus", "westeurope", "westus", "westus2",
    "westus3", "spaincentral", "polandcentral", "mexicocentral", "israelcentral", "newzealandnorth",
    "usgovarizona", "usgovvirginia", "chinaeast2", "chinanorth2", "chinanorth3",
})  # fmt: skip


def unknown_region(region: str) -> tuple[str, str] | None:
    """(what is wrong, how to fix it) when ``region`` is not a Speech region; None when it is."""
    name = region.strip().lower()
    if name in AZURE_SPEECH_REGIONS:
        return None
    close = difflib.get_close_matches(name.replace(" ", ""), sorted(AZURE_SPEECH_REGIONS), n=1, cutoff=0.6)
    if close:
        return f"{region!r} is not an Azure region with the Speech service", f"did you mean {close[0]}?"
    return (
        f"{region!r} is not an Azure region with the Speech service",
        "use an Azure region name such as westeurope or eastus; for a region newer than this list, "
        "give its endpoint URL with --endpoint",
    )
