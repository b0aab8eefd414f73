from __future__ import annotations

from aptmagic.assets.models import Asset
from aptmagic.kit.repository import Repository


class AssetRepository(Repository[Asset]):
    model = Asset
