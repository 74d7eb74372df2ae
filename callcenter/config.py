"""Settings: defaults, then the environment (CALLCENTER_*). Secrets live in the run directory.

Nothing secret is in the repository: the AMI secret, the database password, the
HTTP API's bearer token and phone passwords not given in the dialplan are
generated on first use into ``<run dir>/secrets.json`` (mode 0600) and kept from
then on.
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from callcenter.errors import ConfigError
from callcenter.secret_rules import PHONE_PASSWORD_MIN, SECRET_MIN, weakness

__all__ = ["RECORDING_FORMATS", "Secrets", "Settings"]

_CHECKOUT = Path(__file__).resolve().parent.parent
_PREFIX = "CALLCENTER_"
_GENERATED = ("ami_secret", "db_password", "api_token")  # made on first use when absent


RECORDING_FORMATS = ("wav", "flac", "ogg")  # what sox writes; wav is 16-bit PCM
_BOOLEANS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


@dataclass(frozen=True)
class Settings:
    home: Path = _CHECKOUT  # holds asterisk/, sounds/, dialplans/
    run_dir: Path = _CHECKOUT / ".run"
    dialplan_dir: Path = _CHECKOUT / "dialplans"
    asterisk_root: Path = Path("/var/cache/callcenter/asterisk-root")
    node: str = field(default_factory=socket.gethostname)
    sip_host: str = "127.0.0.1"
    sip_port: int = 5060
    carrier_address: str = "127.0.0.2"
    carrier_port: int = 5060  # where calls to other numbers are sent
    ami_host: str = "127.0.0.1"
    ami_port: int = 5038
    ami_username: str = "callcenter"
    agi_host: str = "127.0.0.1"
    agi_port: int = 4573
    http_host: str = "127.0.0.1"  # the HTTP API (and the web UI to come)
    http_port: int = 8080
    metrics_host: str = "127.0.0.1"  # /metrics and /health, without log-in: may bind where Prometheus reaches
    metrics_port: int = 9464
    pg_port: int = 5433
    database_url: str = ""  # empty: the private cluster under run_dir
    log_level: str = "INFO"
    recording_format: str = "wav"  # wav (16-bit PCM), flac or ogg: what finished recordings are kept as
    # The recordings disk alarm (log and /metrics) below this much free space; an hour of one stereo
    # wav call is ~115 MB, so the default leaves room for a few hours of a small call center's calls.
    recordings_min_free_mb: int = 1024
    # The web pages' session cookie: Secure by default; browsers (Chromium included) keep a Secure cookie
    # on http://127.0.0.1 and http://localhost, so only plain HTTP on another address needs it off.
    web_cookie_secure: bool = True
    web_session_idle: int = 1800  # seconds without a request before a session ends
    web_session_lifetime: int = 43200  # seconds after log-in before a session ends, used or not
    web_timezone: str = "UTC"  # what "today" is on the wallboard and the reports' default dates
    # How often the report rollups take in what calls changed. Each pass re-sums every changed agent's
    # current interval, so passes far apart cost less a call (reports lag by this; the wallboard does not).
    rollup_seconds: int = 10
    # SIP addresses that keep failing (unknown sources, wrong passwords) are blocked in Asterisk for a while:
    # this many failures (0: never block) within the window (seconds) block the address for the period.
    sip_block_failures: int = 10
    sip_block_window: int = 300
    sip_block_seconds: int = 1800
    # Never blocked, besides the carrier and the service's own addresses: addresses or networks, comma-separated.
    sip_block_exempt: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for item in fields(cls):
            raw = environ.get(_PREFIX + item.name.upper())
            if raw is None or raw == "":
                continue
            if item.type == "Path":
                values[item.name] = Path(raw).resolve()
            elif item.type == "bool":
                if raw.lower() not in _BOOLEANS:
                    raise ConfigError(f"{_PREFIX}{item.name.upper()}={raw!r}: expected true or false")
                values[item.name] = _BOOLEANS[raw.lower()]
            elif item.type == "int":
                try:
                    values[item.name] = int(raw)
                except ValueError:
                    raise ConfigError(f"{_PREFIX}{item.name.upper()}={raw!r} is not a whole number") from None
            else:
                values[item.name] = raw
        settings = cls(**values)
        if settings.web_session_idle < 60 or settings.web_session_lifetime < settings.web_session_idle:
            raise ConfigError(
                f"{_PREFIX}WEB_SESSION_IDLE must be at least 60 seconds and {_PREFIX}WEB_SESSION_LIFETIME at least that"
            )
        if not 1 <= settings.rollup_seconds <= 300:
            raise ConfigError(f"{_PREFIX}ROLLUP_SECONDS={settings.rollup_seconds}: expected 1 to 300 seconds")
        try:
            ZoneInfo(settings.web_timezone)
        except (ValueError, ZoneInfoNotFoundError):
            raise ConfigError(f"{_PREFIX}WEB_TIMEZONE={settings.web_timezone!r} is not a known time zone") from None
        if settings.sip_block_failures < 0 or settings.sip_block_window < 1 or settings.sip_block_seconds < 1:
            raise ConfigError(
                f"{_PREFIX}SIP_BLOCK_FAILURES must be 0 (never block) or more, "
                f"{_PREFIX}SIP_BLOCK_WINDOW and {_PREFIX}SIP_BLOCK_SECONDS at least 1 second"
            )
        for entry in filter(None, (part.strip() for part in settings.sip_block_exempt.split(","))):
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ConfigError(
                    f"{_PREFIX}SIP_BLOCK_EXEMPT: {entry!r} is not an address or network (like 10.0.0.0/8)"
                ) from None
        if settings.recording_format not in RECORDING_FORMATS:
            raise ConfigError(
                f"{_PREFIX}RECORDING_FORMAT={settings.recording_format!r}: one of {', '.join(RECORDING_FORMATS)}"
            )
        # The run directory's children follow it unless set on their own.
        if "run_dir" not in values and "home" in values:
            settings = replace(settings, run_dir=settings.home / ".run")
        if "dialplan_dir" not in values and "home" in values:
            settings = replace(settings, dialplan_dir=settings.home / "dialplans")
        return settings

    @property
    def asterisk_config_dir(self) -> Path:
        return self.home / "asterisk"

    @property
    def sounds_dir(self) -> Path:
        return self.home / "sounds"

    @property
    def asterisk_state_dir(self) -> Path:
        """Mounted into the Asterisk root: generated config, logs, spool, astdb, recordings."""
        return self.run_dir / "asterisk"

    @property
    def recordings_dir(self) -> Path:
        """Finished recordings, by day: YYYY/MM/DD/<recording id>.<format>."""
        return self.run_dir / "recordings"

    @property
    def recordings_incoming_dir(self) -> Path:
        """Where Asterisk writes recordings in progress (inside the root: /srv/callcenter/run/recordings)."""
        return self.asterisk_state_dir / "recordings"

    @property
    def spool_dir(self) -> Path:
        """Call records waiting for PostgreSQL."""
        return self.run_dir / "spool"

    @property
    def pg_data_dir(self) -> Path:
        return self.run_dir / "pg"

    def database_dsn(self, secrets: Secrets) -> str:
        if self.database_url:
            return self.database_url
        return f"postgresql+psycopg://callcenter:{secrets.db_password}@127.0.0.1:{self.pg_port}/callcenter"


@dataclass(frozen=True)
class Secrets:
    ami_secret: str
    db_password: str
    phone_passwords: dict[str, str]
    api_token: str  # the HTTP API's bearer token

    @classmethod
    def load(cls, run_dir: Path, extensions: list[str] | tuple[str, ...] = ()) -> Secrets:
        """Read the run directory's secrets, generating (and saving) any that are missing."""
        path = run_dir / "secrets.json"
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            data = {}
        except (OSError, ValueError) as error:
            raise ConfigError(f"{path}: cannot read secrets ({error}); fix or delete the file") from None
        if not _is_secrets_shape(data):
            raise ConfigError(
                f"{path}: not a secrets file (expected text values and an object of phone_passwords); "
                "fix or delete the file"
            )
        changed = False
        for key in _GENERATED:
            if not data.get(key):
                data[key] = secrets.token_urlsafe(24)
                changed = True
        phones = data.setdefault("phone_passwords", {})
        for extension in extensions:
            if not phones.get(extension):
                phones[extension] = _strong_phone_password(extension)
                changed = True
        if changed:
            run_dir.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(".tmp")
            temporary.touch(mode=0o600)
            temporary.write_text(json.dumps(data, indent=2) + "\n")
            temporary.replace(path)
        ami_secret = os.environ.get(_PREFIX + "AMI_SECRET") or data["ami_secret"]
        why = weakness(ami_secret, SECRET_MIN)
        if why is not None:  # a generated one never is: this is a secret someone chose, or a sample left in
            source = f"{_PREFIX}AMI_SECRET" if os.environ.get(_PREFIX + "AMI_SECRET") else f"{path}: ami_secret"
            raise ConfigError(f"{source} is weak: {why}; give a long random one, or none to have it generated")
        weak = _weak_hand_written(path, data, extensions)
        if weak:  # hand-written values: a phone's password is guessed online, the token is an admin's
            raise ConfigError("; ".join(weak) + "; give long random ones, or delete them to have them generated")
        return cls(
            ami_secret=ami_secret,
            db_password=data["db_password"],
            phone_passwords=dict(phones),
            api_token=data["api_token"],
        )


def weak_secrets(run_dir: Path, extensions: list[str]) -> list[str]:
    """What `callcenter check` reports of the secrets file, read only: the weak values in it that would stop
    the start (phone passwords of ``extensions``, the API token). Nothing when there is no file yet."""
    path = run_dir / "secrets.json"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as error:
        return [f"{path}: cannot read secrets ({error})"]
    if not _is_secrets_shape(data):
        return [f"{path}: not a secrets file"]
    phones = data["phone_passwords"]
    return _weak_hand_written(path, data, [extension for extension in extensions if phones.get(extension)])


def _weak_hand_written(path: Path, data: dict[str, Any], extensions: Iterable[str]) -> list[str]:
    weak = [
        f"{path}: phone_passwords.{extension} is weak: {why}"
        for extension in extensions
        if (why := weakness(data["phone_passwords"][extension], PHONE_PASSWORD_MIN, known=[extension])) is not None
    ]
    token = data.get("api_token")
    if token and (why := weakness(token, SECRET_MIN)) is not None:
        weak.append(f"{path}: api_token is weak: {why}")
    return weak


def _strong_phone_password(extension: str) -> str:
    # 16 random URL-safe characters are nearly always of several kinds; the rare draw that is not (or holds the
    # extension) is drawn again, so a generated password always passes the check hand-written ones get.
    while True:
        password = secrets.token_urlsafe(12)
        if weakness(password, PHONE_PASSWORD_MIN, known=[extension]) is None:
            return password


def _is_secrets_shape(data: object) -> bool:
    if not isinstance(data, dict):
        return False
    phones = data.setdefault("phone_passwords", {})
    texts = [
        *(data.get(key, "") for key in _GENERATED),
        *(phones.values() if isinstance(phones, dict) else [0]),
    ]
    return isinstance(phones, dict) and all(isinstance(text, str) for text in texts)
