"""Configuration of the vector store: where Qdrant is ([qdrant]) and how calls retry."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, SecretStr

from pipelines.errors import ConfigError


class QdrantConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: Path | None = None  # embedded on-disk mode; default <lake.root>/qdrant
    url: str | None = None  # a server; wins over path
    api_key: SecretStr | None = None
    # a file holding the key (a mounted secret), for masters that must not see it in env vars
    api_key_file: Path | None = None

    def key(self) -> str | None:
        """The API key: ``api_key``, else the stripped contents of ``api_key_file``."""
        if self.api_key is not None and self.api_key.get_secret_value():
            return self.api_key.get_secret_value()
        if self.api_key_file is None:
            return None
        try:
            return self.api_key_file.read_text().strip() or None
        except OSError as exc:
            raise ConfigError(
                f"qdrant.api_key_file {self.api_key_file} cannot be read ({exc.strerror});"
                " fix the path or mount the secret there"
            ) from None


@dataclass(frozen=True)
class RetryPolicy:
    """How store calls retry transient failures, named as the [publish] keys they come from."""

    retry_attempts: int = 5
    retry_wait_s: float = 0.5
    retry_max_wait_s: float = 8.0
    timeout_s: int = 30  # of one request to a server

    @classmethod
    def from_config(cls, section: Any) -> RetryPolicy:
        """The policy of a settings section with these keys ([publish])."""
        return cls(
            retry_attempts=section.retry_attempts,
            retry_wait_s=section.retry_wait_s,
            retry_max_wait_s=section.retry_max_wait_s,
            timeout_s=section.timeout_s,
        )
