"""What the workflow routers (campaigns, assignments, verifications) share: the staff roles, the id path
parameter, a campaign id checked against the caller's scope, the RT code and username fields."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path
from pydantic import Field

import verval.campaigns
from api.deps import ConnDep
from api.security import OptionalPrincipalDep
from core.errors import NotFound
from core.scope import area_scope, shares

STAFF = ("admin", "coordinator")
Id = Annotated[int, Path(ge=1, le=2**62)]


async def campaign_in_scope(campaign_id: Id, conn: ConnDep, principal: OptionalPrincipalDep) -> int:
    """The path's campaign id, when the campaign's kab/kota shares ground with the caller's scope; otherwise a 404
    as if it did not exist (a coordinator of one city does not learn another city's campaigns). Declared after the
    route's role check, so a caller without the role never reaches the lookup."""
    kota = await verval.campaigns.kota_of(conn, campaign_id)
    if not shares(area_scope(principal), kota):
        raise NotFound(f"no campaign {campaign_id}")
    return campaign_id


CampaignId = Annotated[int, Depends(campaign_in_scope)]
RtCode = Annotated[
    str, Field(pattern=r"^\d{2}\.\d{2}\.\d{2}\.\d{4}\.\d{3}\.\d{3}$", examples=["15.71.01.1001.002.005"])
]
Username = Annotated[str, Field(min_length=3, max_length=64)]
