"""What the workflow routers (campaigns, assignments, verifications) share: the staff roles, the id path
parameter, the RT code and username fields."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import Field

STAFF = ("admin", "coordinator")
Id = Annotated[int, Path(ge=1, le=2**62)]
RtCode = Annotated[
    str, Field(pattern=r"^\d{2}\.\d{2}\.\d{2}\.\d{4}\.\d{3}\.\d{3}$", examples=["15.71.01.1001.002.005"])
]
Username = Annotated[str, Field(min_length=3, max_length=64)]
