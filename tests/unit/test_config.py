"""callcenter.config: settings from the environment, secrets generated into the run directory."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from callcenter.config import Secrets, Settings
from callcenter.errors import ConfigError
from callcenter.secret_rules import PHONE_PASSWORD_MIN, weakness

CHECKOUT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _no_ami_secret_override(monkeypatch: pytest.MonkeyPatch) -> None:
    # Secrets.load reads CALLCENTER_AMI_SECRET from the real environment; keep tests independent of it.
    monkeypatch.delenv("CALLCENTER_AMI_SECRET", raising=False)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- Settings -------------------------------------------------------------------------------------


def test_empty_environment_gives_the_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.home == CHECKOUT
    assert settings.run_dir == CHECKOUT / ".run"
    assert settings.dialplan_dir == CHECKOUT / "dialplans"
    assert settings.sip_port == 5060
    assert settings.ami_port == 5038
    assert settings.agi_port == 4573
    assert settings.sip_host == "127.0.0.1"
    assert (settings.http_host, settings.http_port) == ("127.0.0.1", 8080)
    assert settings.database_url == ""


def test_variables_without_the_prefix_are_ignored() -> None:
    assert Settings.from_env({"SIP_PORT": "1", "sip_port": "2"}).sip_port == 5060


def test_int_settings_are_parsed() -> None:
    settings = Settings.from_env(
        {"CALLCENTER_SIP_PORT": "5070", "CALLCENTER_AMI_PORT": "6038", "CALLCENTER_PG_PORT": "5544"}
    )
    assert settings.sip_port == 5070
    assert settings.ami_port == 6038
    assert settings.pg_port == 5544
    assert isinstance(settings.sip_port, int)


def test_the_http_api_address_comes_from_the_environment() -> None:
    settings = Settings.from_env({"CALLCENTER_HTTP_HOST": "0.0.0.0", "CALLCENTER_HTTP_PORT": "9090"})
    assert (settings.http_host, settings.http_port) == ("0.0.0.0", 9090)


def test_string_settings_are_taken_as_given() -> None:
    settings = Settings.from_env(
        {"CALLCENTER_SIP_HOST": "10.0.0.5", "CALLCENTER_NODE": "pbx-7", "CALLCENTER_LOG_LEVEL": "DEBUG"}
    )
    assert settings.sip_host == "10.0.0.5"
    assert settings.node == "pbx-7"
    assert settings.log_level == "DEBUG"


def test_empty_value_counts_as_unset() -> None:
    assert Settings.from_env({"CALLCENTER_SIP_PORT": "", "CALLCENTER_NODE": ""}).sip_port == 5060


@pytest.mark.parametrize("raw", ["abc", "50.60", "5060x", "0x13c4"])
def test_bad_int_raises_config_error_naming_the_variable_and_value(raw: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"CALLCENTER_SIP_PORT": raw})
    assert "CALLCENTER_SIP_PORT" in str(caught.value)
    assert repr(raw) in str(caught.value)
    assert "whole number" in str(caught.value)


def test_bad_int_error_names_the_right_variable_among_several() -> None:
    with pytest.raises(ConfigError, match="CALLCENTER_AGI_PORT"):
        Settings.from_env({"CALLCENTER_SIP_PORT": "5060", "CALLCENTER_AGI_PORT": "four"})


def test_the_rollup_period_defaults_to_ten_seconds_and_is_read_from_the_environment() -> None:
    assert Settings.from_env({}).rollup_seconds == 10
    assert Settings.from_env({"CALLCENTER_ROLLUP_SECONDS": "60"}).rollup_seconds == 60


@pytest.mark.parametrize("raw", ["0", "-5", "301"])
def test_a_rollup_period_out_of_range_is_refused(raw: str) -> None:
    with pytest.raises(ConfigError, match=f"CALLCENTER_ROLLUP_SECONDS={raw}: expected 1 to 300 seconds"):
        Settings.from_env({"CALLCENTER_ROLLUP_SECONDS": raw})


def test_absolute_paths_are_kept(tmp_path: Path) -> None:
    settings = Settings.from_env({"CALLCENTER_ASTERISK_ROOT": str(tmp_path / "root")})
    assert settings.asterisk_root == tmp_path / "root"
    assert isinstance(settings.asterisk_root, Path)


def test_relative_paths_are_resolved_against_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env({"CALLCENTER_RUN_DIR": "run", "CALLCENTER_DIALPLAN_DIR": "./plans/../dp"})
    assert settings.run_dir == tmp_path.resolve() / "run"
    assert settings.dialplan_dir == tmp_path.resolve() / "dp"
    assert settings.run_dir.is_absolute()


def test_home_moves_run_dir_and_dialplan_dir(tmp_path: Path) -> None:
    settings = Settings.from_env({"CALLCENTER_HOME": str(tmp_path)})
    assert settings.home == tmp_path
    assert settings.run_dir == tmp_path / ".run"
    assert settings.dialplan_dir == tmp_path / "dialplans"


def test_home_moves_the_directories_derived_from_it(tmp_path: Path) -> None:
    settings = Settings.from_env({"CALLCENTER_HOME": str(tmp_path)})
    assert settings.asterisk_config_dir == tmp_path / "asterisk"
    assert settings.sounds_dir == tmp_path / "sounds"
    assert settings.spool_dir == tmp_path / ".run" / "spool"
    assert settings.pg_data_dir == tmp_path / ".run" / "pg"
    assert settings.asterisk_state_dir == tmp_path / ".run" / "asterisk"


def test_explicit_run_dir_and_dialplan_dir_win_over_home(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "CALLCENTER_HOME": str(tmp_path / "home"),
            "CALLCENTER_RUN_DIR": str(tmp_path / "run"),
            "CALLCENTER_DIALPLAN_DIR": str(tmp_path / "plans"),
        }
    )
    assert settings.home == tmp_path / "home"
    assert settings.run_dir == tmp_path / "run"
    assert settings.dialplan_dir == tmp_path / "plans"


def test_home_does_not_move_the_asterisk_root(tmp_path: Path) -> None:
    settings = Settings.from_env({"CALLCENTER_HOME": str(tmp_path)})
    assert settings.asterisk_root == Path("/var/cache/callcenter/asterisk-root")


def test_database_dsn_uses_the_private_cluster_by_default() -> None:
    secrets = Secrets(ami_secret="a", db_password="pw", phone_passwords={}, api_token="t")
    dsn = Settings.from_env({"CALLCENTER_PG_PORT": "6543"}).database_dsn(secrets)
    assert dsn == "postgresql+psycopg://callcenter:pw@127.0.0.1:6543/callcenter"


def test_database_url_wins_over_the_private_cluster() -> None:
    secrets = Secrets(ami_secret="a", db_password="pw", phone_passwords={}, api_token="t")
    url = "postgresql+psycopg://u:p@db.example/cc"
    assert Settings.from_env({"CALLCENTER_DATABASE_URL": url}).database_dsn(secrets) == url


# --- Secrets --------------------------------------------------------------------------------------


def test_secrets_are_generated_into_a_private_file(tmp_path: Path) -> None:
    secrets = Secrets.load(tmp_path, ["1001"])
    path = tmp_path / "secrets.json"
    assert path.is_file()
    assert mode_of(path) == 0o600
    saved = json.loads(path.read_text())
    assert saved["ami_secret"] == secrets.ami_secret
    assert saved["db_password"] == secrets.db_password
    assert saved["api_token"] == secrets.api_token
    assert saved["phone_passwords"] == {"1001": secrets.phone_passwords["1001"]}


def test_generated_secrets_are_long_and_distinct(tmp_path: Path) -> None:
    secrets = Secrets.load(tmp_path, ["1001", "1002"])
    values = [secrets.ami_secret, secrets.db_password, secrets.api_token, *secrets.phone_passwords.values()]
    assert len(set(values)) == len(values)
    assert all(len(value) >= 16 for value in values)


def test_generated_secrets_can_go_into_config_files(tmp_path: Path) -> None:
    secrets = Secrets.load(tmp_path, ["1001"])
    for value in (secrets.ami_secret, secrets.db_password, secrets.api_token, secrets.phone_passwords["1001"]):
        assert not any(char in value for char in ";\r\n\"' #")


def test_the_run_directory_is_created(tmp_path: Path) -> None:
    run_dir = tmp_path / "a" / "b"
    Secrets.load(run_dir, ["1001"])
    assert (run_dir / "secrets.json").is_file()


def test_no_temporary_file_is_left_behind(tmp_path: Path) -> None:
    Secrets.load(tmp_path, ["1001"])
    assert [path.name for path in tmp_path.iterdir()] == ["secrets.json"]


def test_secrets_are_stable_across_loads(tmp_path: Path) -> None:
    first = Secrets.load(tmp_path, ["1001", "1002"])
    second = Secrets.load(tmp_path, ["1001", "1002"])
    assert second == first


def test_unchanged_secrets_file_is_not_rewritten(tmp_path: Path) -> None:
    Secrets.load(tmp_path, ["1001"])
    path = tmp_path / "secrets.json"
    before = path.stat().st_mtime_ns, path.stat().st_ino
    Secrets.load(tmp_path, ["1001"])
    assert (path.stat().st_mtime_ns, path.stat().st_ino) == before


def test_new_extension_gets_a_password_and_old_ones_keep_theirs(tmp_path: Path) -> None:
    first = Secrets.load(tmp_path, ["1001"])
    second = Secrets.load(tmp_path, ["1001", "1002"])
    assert second.phone_passwords["1001"] == first.phone_passwords["1001"]
    assert second.phone_passwords["1002"]
    assert second.phone_passwords["1002"] != first.phone_passwords["1001"]
    assert second.ami_secret == first.ami_secret
    assert second.db_password == first.db_password
    assert second.api_token == first.api_token
    saved = json.loads((tmp_path / "secrets.json").read_text())
    assert saved["phone_passwords"] == second.phone_passwords
    assert mode_of(tmp_path / "secrets.json") == 0o600


def test_extension_no_longer_listed_keeps_its_password(tmp_path: Path) -> None:
    first = Secrets.load(tmp_path, ["1001", "1002"])
    later = Secrets.load(tmp_path, ["1002"])
    assert later.phone_passwords["1001"] == first.phone_passwords["1001"]


def test_hand_written_values_are_kept_and_missing_ones_filled_in(tmp_path: Path) -> None:
    (tmp_path / "secrets.json").write_text(
        json.dumps({"ami_secret": "mine-Kx9vTq2mWp7r", "phone_passwords": {"1001": "Pw1-desk-7Hq2x"}})
    )
    secrets = Secrets.load(tmp_path, ["1001", "1002"])
    assert secrets.ami_secret == "mine-Kx9vTq2mWp7r"
    assert secrets.phone_passwords["1001"] == "Pw1-desk-7Hq2x"
    assert secrets.db_password
    assert secrets.phone_passwords["1002"]


def test_a_secrets_file_from_before_the_http_api_gets_a_token_and_keeps_the_rest(tmp_path: Path) -> None:
    old = {"ami_secret": "ami-Kx9vTq2mWp7rZ", "db_password": "db", "phone_passwords": {"1001": "Pw1-desk-7Hq2x"}}
    (tmp_path / "secrets.json").write_text(json.dumps(old))
    secrets = Secrets.load(tmp_path, ["1001"])
    assert len(secrets.api_token) >= 16
    assert (secrets.ami_secret, secrets.db_password, secrets.phone_passwords) == (
        "ami-Kx9vTq2mWp7rZ",
        "db",
        {"1001": "Pw1-desk-7Hq2x"},
    )
    assert json.loads((tmp_path / "secrets.json").read_text()) == {**old, "api_token": secrets.api_token}


def test_empty_values_are_regenerated(tmp_path: Path) -> None:
    (tmp_path / "secrets.json").write_text(
        json.dumps({"ami_secret": "", "db_password": "", "api_token": "", "phone_passwords": {"1001": ""}})
    )
    secrets = Secrets.load(tmp_path, ["1001"])
    assert secrets.ami_secret
    assert secrets.db_password
    assert secrets.api_token
    assert secrets.phone_passwords["1001"]


def test_ami_secret_from_the_environment_wins_but_is_not_saved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLCENTER_AMI_SECRET", "from-env-Xq7-k2Lm9")
    secrets = Secrets.load(tmp_path)
    assert secrets.ami_secret == "from-env-Xq7-k2Lm9"
    assert json.loads((tmp_path / "secrets.json").read_text())["ami_secret"] != "from-env-Xq7-k2Lm9"


@pytest.mark.parametrize("text", ["{not json", "", '{"ami_secret": "x",', "\x00\x01"])
def test_corrupt_secrets_file_raises_config_error_naming_the_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "secrets.json"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        Secrets.load(tmp_path, ["1001"])
    assert str(path) in str(caught.value)
    assert "fix or delete" in str(caught.value)
    assert path.read_text() == text  # the file is left for the admin to look at


def test_secrets_file_that_is_not_utf8_raises_config_error(tmp_path: Path) -> None:
    (tmp_path / "secrets.json").write_bytes(b'{"ami_secret": "\xff"}')
    with pytest.raises(ConfigError):
        Secrets.load(tmp_path)


@pytest.mark.parametrize(
    "text", ["[]", "null", '"secret"', "5", '{"phone_passwords": []}', '{"phone_passwords": null}']
)
def test_secrets_file_of_the_wrong_shape_raises_config_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "secrets.json"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        Secrets.load(tmp_path, ["1001"])
    assert str(caught.value).startswith(f"{path}: not a secrets file")
    assert "fix or delete" in str(caught.value)
    assert path.read_text() == text  # left for the admin to look at, not overwritten


@pytest.mark.parametrize(
    "text",
    [
        '{"ami_secret": 5, "db_password": "x", "phone_passwords": {}}',
        '{"ami_secret": "x", "db_password": ["x"], "phone_passwords": {}}',
        '{"ami_secret": "x", "db_password": "x", "phone_passwords": {"1001": 7}}',
        '{"ami_secret": "x", "db_password": "x", "api_token": 1, "phone_passwords": {}}',
    ],
)
def test_secrets_file_with_a_secret_that_is_not_a_string_raises_config_error(tmp_path: Path, text: str) -> None:
    (tmp_path / "secrets.json").write_text(text)
    with pytest.raises(ConfigError, match="fix or delete"):
        Secrets.load(tmp_path, ["1001"])


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("pw1", "3 characters; at least 12"),
        ("changeme-2026-Desk", "well-known sample"),
        ("desk1001-Phone", "contains '1001'"),
        ("alllowercaseletters", "one kind of character"),
    ],
)
def test_a_weak_hand_written_phone_password_stops_the_load_naming_file_and_phone(
    tmp_path: Path, password: str, why: str
) -> None:
    (tmp_path / "secrets.json").write_text(json.dumps({"phone_passwords": {"1001": password}}))
    with pytest.raises(ConfigError) as caught:
        Secrets.load(tmp_path, ["1001", "1002"])
    message = str(caught.value)
    assert f"{tmp_path / 'secrets.json'}: phone_passwords.1001 is weak" in message
    assert why in message
    assert "1002" not in message  # the generated one is strong


def test_a_weak_password_of_a_phone_no_longer_in_the_dialplan_is_not_in_the_way(tmp_path: Path) -> None:
    (tmp_path / "secrets.json").write_text(json.dumps({"phone_passwords": {"1009": "pw"}}))
    assert Secrets.load(tmp_path, ["1001"]).phone_passwords["1009"] == "pw"


def test_a_weak_hand_written_api_token_stops_the_load(tmp_path: Path) -> None:
    (tmp_path / "secrets.json").write_text(json.dumps({"api_token": "token"}))
    with pytest.raises(ConfigError, match="api_token is weak"):
        Secrets.load(tmp_path)


def test_generated_phone_passwords_pass_the_strength_check(tmp_path: Path) -> None:
    extensions = [str(1000 + n) for n in range(200)]
    secrets = Secrets.load(tmp_path, extensions)
    assert all(weakness(secrets.phone_passwords[e], PHONE_PASSWORD_MIN, known=[e]) is None for e in extensions)
