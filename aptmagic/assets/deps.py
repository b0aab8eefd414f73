"""Route dependencies of this domain, as Annotated aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from aptmagic.api.deps import provider
from aptmagic.assets.service import AssetService

AssetServiceDep = Annotated[AssetService, Depends(provider(AssetService))]
