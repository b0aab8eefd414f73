"""Route dependencies of this domain, as Annotated aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from aptmagic.api.deps import provider
from aptmagic.social.service import SocialService

SocialServiceDep = Annotated[SocialService, Depends(provider(SocialService))]
