"""Typed settings, read once at the edge (CLI, job ``main()``, DAG task) and passed down.

Sources, strongest first: environment (``PIPELINES__SECTION__KEY``), then the TOML file
(``--config PATH``, default ``pipelines.toml`` in the working directory), then defaults.
Relative paths in the file are taken relative to the file's folder.
"""

from __future__ import annotations

import tomllib
import warnings
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from pipelines.dedup.config import DedupConfig
from pipelines.embed.config import CatalogConfig, EventsConfig, ModelConfig
from pipelines.errors import ConfigError
from pipelines.evaluate.config import EvaluateConfig
from pipelines.lake.config import LakeConfig
from pipelines.neighbors.config import NeighborsConfig
from pipelines.publish.config import PublishConfig
from pipelines.recs.config import RecsConfig
from pipelines.spark_config import SparkConfig
from pipelines.users.config import UsersConfig
from pipelines.validate.config import ValidateConfig

DEFAULT_CONFIG_FILE = "pipelines.toml"
ENV_PREFIX = "PIPELINES__"


class QdrantConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: Path | None = None  # embedded on-disk mode; default <lake.root>/qdrant
    url: str | None = None  # a server; wins over path
    api_key: SecretStr | None = None


# The key is named [validate], as the stage is; it shadows pydantic's deprecated validate().
warnings.filterwarnings("ignore", message='Field name "validate" in "Settings" shadows')


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        nested_model_default_partial_update=True,
    )

    lake: LakeConfig = Field(default_factory=LakeConfig)
    spark: SparkConfig = Field(default_factory=SparkConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    catalog: CatalogConfig = Field(default_factory=CatalogConfig)
    events: EventsConfig = Field(default_factory=EventsConfig)
    qdrant: QdrantConfig = Field(default_factory=QdrantConfig)
    validate: ValidateConfig = Field(default_factory=ValidateConfig)
    publish: PublishConfig = Field(default_factory=PublishConfig)
    neighbors: NeighborsConfig = Field(default_factory=NeighborsConfig)
    dedup: DedupConfig = Field(default_factory=DedupConfig)
    recs: RecsConfig = Field(default_factory=RecsConfig)
    users: UsersConfig = Field(default_factory=UsersConfig)
    evaluate: EvaluateConfig = Field(default_factory=EvaluateConfig)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # the TOML file arrives as init kwargs; the environment overrides it
        return env_settings, init_settings

    @property
    def qdrant_path(self) -> Path:
        return self.qdrant.path or self.lake.root / "qdrant"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc


def _absolute(value: Path | None, base: Path) -> Path | None:
    if value is None:
        return None
    value = value.expanduser()
    return value if value.is_absolute() else (base / value).resolve()


def _resolve_paths(settings: Settings, base: Path) -> Settings:
    settings.lake.root = _absolute(settings.lake.root, base)
    settings.catalog.source = _absolute(settings.catalog.source, base)
    settings.events.source = _absolute(settings.events.source, base)
    settings.qdrant.path = _absolute(settings.qdrant.path, base)
    settings.neighbors.staging_dir = _absolute(settings.neighbors.staging_dir, base)
    settings.evaluate.dedup_gold = _absolute(settings.evaluate.dedup_gold, base)
    return settings


def describe_validation_error(exc: ValidationError, origin: str) -> str:
    lines = [f"invalid configuration ({origin}):"]
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"])
        env_name = ENV_PREFIX + "__".join(str(part).upper() for part in error["loc"])
        value = error.get("input")
        shown = "<missing>" if error["type"] == "missing" else repr(value)
        if error["type"] == "extra_forbidden":
            lines.append(f"  - {key}: unknown key (value {shown}); remove it or fix its spelling")
            continue
        message = error["msg"].removeprefix("Value error, ")
        lines.append(f"  - {key} = {shown}: {message} (set in the file or as {env_name})")
    return "\n".join(lines)


def load_settings(path: str | Path | None = None) -> Settings:
    """Read and validate the settings once. ``path=None`` reads ./pipelines.toml if present."""
    explicit = path is not None
    file = Path(path if explicit else DEFAULT_CONFIG_FILE).expanduser()
    if explicit and not file.is_file():
        raise ConfigError(
            f"config file {file} does not exist; pass an existing --config PATH"
            " (pipelines.example.toml is a commented example)"
        )
    data = _read_toml(file) if file.is_file() else {}
    origin = str(file) if file.is_file() else "defaults and environment"
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, origin)) from None
    base = file.resolve().parent if file.is_file() else Path.cwd()
    return _resolve_paths(settings, base)
