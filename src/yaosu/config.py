"""Settings from ``YAOSU_*`` environment variables, with embedded defaults.

The default is a data directory (``./.yaosu`` or ``YAOSU_DATA_DIR``) holding a SQLite database,
a local storage folder and the node key, so nothing else has to run.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="YAOSU_", extra="ignore")

    data_dir: Path = Field(default=Path(".yaosu"), description="Embedded data directory.")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default is SQLite in the data directory. "
        "Use postgresql+psycopg://… for production.",
    )
    storage_url: str | None = Field(
        default=None, description="Storage root; default data_dir/storage."
    )
    node_name: str = Field(default="yaosu.localhost", description="Node name used in checkpoints.")
    node_domain: str = Field(default="yaosu.localhost", description="did:web domain of this node.")
    node_key: str | None = Field(
        default=None,
        description="Base64 32-byte node key that encrypts private keys at rest; "
        "default: generated once into data_dir/node.key.",
    )
    secret_key: str | None = Field(
        default=None, description="Cookie-signing secret; default: derived from the node key."
    )
    grading_rules: Path | None = Field(
        default=None,
        description="YAML file replacing sections of the shipped grading rule table; "
        "default: data_dir/grading.yaml when it exists.",
    )
    access_token_ttl: int = Field(default=3600, description="Seconds a login token lives.")
    session_ttl: int = Field(default=8 * 3600, description="Seconds a browser session lives.")
    demo_password: str = Field(default="yaosu-demo", description="Password of every demo account.")
    cli_user: str | None = Field(
        default=None,
        description="Username the `yaosu` commands act as when --as is not given; commands that "
        "change state refuse to run without one.",
    )
    checkpoint_interval: int = Field(
        default=60,
        description="Seconds between scheduled ledger checkpoints while serving (0 = off).",
    )
    open_rate_anonymous: int = Field(
        default=60,
        description="Open-data downloads and API calls per minute per address without an API key.",
    )
    open_rate_key: int = Field(
        default=1200, description="Open-data downloads and API calls per minute per API key."
    )
    open_min_k: int = Field(
        default=5,
        ge=2,
        description="Smallest equivalence class (k-anonymity) over the quasi-identifiers of an "
        "unconditional-open distribution for the resource to be opened.",
    )
    login_max_failures: int = Field(
        default=5,
        ge=1,
        description="Failed sign-ins per account in one login window before it waits "
        "(password guessing; counted in the database, shared by every server process).",
    )
    login_max_failures_address: int = Field(
        default=50,
        ge=1,
        description="Failed sign-ins per client address (IPv6: per /64) in one login window.",
    )
    login_window: int = Field(
        default=900,
        ge=1,
        description="Seconds of the login window; a locked account or address is free again "
        "when its window ends.",
    )
    argon2_fast: bool = Field(
        default=False, description="Cheap argon2 parameters; for tests only, never in production."
    )
    timezone: str = Field(
        default="Asia/Shanghai",
        description="IANA time zone of the node (Asia/Shanghai, UTC…): pages and the CLI show "
        "its local time, and daily quotas, date-only validity bounds, due dates and today's "
        "counters roll over at its midnight. The API keeps ISO 8601 instants in UTC.",
    )
    pull_allow: str = Field(
        default="",
        description="Private networks pulls and webhooks may reach: comma-separated CIDRs and "
        "host names (*.name for any below). Loopback opens only for a CIDR wholly inside it "
        "(127.0.0.1/32); link-local, metadata and the like never. See docs/catalog.md.",
    )

    @field_validator("timezone")
    @classmethod
    def _timezone_exists(cls, value: str) -> str:
        # A bad zone stops the node at start-up instead of failing every call that counts days.
        from yaosu.kit.timeutil import zone_named

        try:
            zone_named(value)
        except ValueError as exc:
            raise ValueError(f"YAOSU_TIMEZONE: {exc}") from None
        return value

    @field_validator("pull_allow")
    @classmethod
    def _pull_allow_parses(cls, value: str) -> str:
        # A typo here fails at start-up, not as an error in every pull. (Nothing to parse when
        # empty: netguard imports httpx, which every `yaosu` command would otherwise load.)
        if value.strip():
            from yaosu.kit.netguard import NetPolicy

            NetPolicy.parse(value)
        return value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'yaosu.db').resolve()}"

    @property
    def storage_root(self) -> str:
        return self.storage_url or str((self.data_dir / "storage").resolve())

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")


class SettingsError(ValueError):
    """A ``YAOSU_*`` setting the node cannot start with; the message names each one and why."""


def _problem(error: Any) -> str:
    name = "YAOSU_" + "_".join(str(p) for p in error["loc"]).upper()
    reason = str(error["msg"]).removeprefix("Value error, ").removeprefix(f"{name}: ")
    return f"{name}: {reason}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings, read once; a bad one raises ``SettingsError`` (the node does not start)."""
    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(_problem(e) for e in exc.errors())
        raise SettingsError(f"Invalid settings: {problems}") from None


def reset_settings() -> None:
    """Forget cached settings (tests and the CLI change the environment)."""
    get_settings.cache_clear()


@lru_cache(maxsize=4)
def _node_key_for(configured: str | None, data_dir: str) -> bytes:
    from yaosu.kit.crypto import load_or_create_node_key

    return load_or_create_node_key(configured, Path(data_dir))


def get_node_key() -> bytes:
    """The node key that seals private keys at rest (see ``Settings.node_key``)."""
    s = get_settings()
    return _node_key_for(s.node_key, str(s.data_dir.resolve()))
