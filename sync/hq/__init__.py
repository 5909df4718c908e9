"""HQ side of sync: the signed TUF repository, its server and the fleet view."""

from sync.hq.repository import HqRepository, HqSettings, PublishResult, RoleKeys

__all__ = ["HqRepository", "HqSettings", "PublishResult", "RoleKeys"]
