from pathlib import Path

import pytest

from turnout.errors import BadInput
from turnout.vault import Vault, passwords, private_folder, scrub


@pytest.mark.parametrize("url", [
    "postgresql://app:s3cret@db:5432/shop?sslmode=require",
    "mysql://app:p%40ss%23word@127.0.0.1:3306/shop",
    "postgresql://app@db/shop?sslmode=require&password=hunter22",
    "postgresql://app:a:b:c@db/shop",  # a colon in the password itself
])
def test_a_sealed_url_hides_the_password_and_unseals_to_what_was_given(
    tmp_path: Path, url: str
) -> None:
    vault = Vault(tmp_path)
    sealed = vault.seal(url)
    assert sealed != url and "sealed:" in sealed
    for secret in passwords(url):
        assert secret not in sealed
    assert Vault(tmp_path).unseal(sealed) == url  # another process, the same key file
    assert vault.seal(sealed) == sealed  # sealing twice changes nothing
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("url", [
    "sqlite:///app.db", "postgresql://app@db/shop", "mysql://app:env:DB_PW@db/shop",
    "postgresql://app:file:/run/secrets/pw@db/shop",
])
def test_urls_without_a_password_in_clear_stay_as_written(tmp_path: Path, url: str) -> None:
    vault = Vault(tmp_path)
    assert vault.seal(url) == url and vault.unseal(url) == url
    assert not (tmp_path / "secret.key").exists()  # no key until there is something to seal


def test_another_key_refuses_with_the_way_out(tmp_path: Path) -> None:
    sealed = Vault(tmp_path).seal("postgresql://app:s3cret@db/shop")
    (tmp_path / "secret.key").write_text("00" * 32)
    with pytest.raises(BadInput, match="delete the task and create it again"):
        Vault(tmp_path).unseal(sealed)
    (tmp_path / "secret.key").unlink()
    with pytest.raises(BadInput, match="missing or damaged"):
        Vault(tmp_path).unseal(sealed)


def test_scrub_hides_url_passwords_and_known_ones() -> None:
    text = "connect postgresql://app:s3cret@db/shop failed: password hunter22 rejected"
    assert scrub(text, ["hunter22"]) == (
        "connect postgresql://app:***@db/shop failed: password *** rejected")
    assert scrub("cut short: mysql://app:s3cr") == "cut short: mysql://app:***"
    assert scrub("the pw is abc here", ["abc"]) == "the pw is abc here"  # too short to tell


def test_private_folder_tightens_only_a_folder_of_its_own(tmp_path: Path) -> None:
    own, shared = tmp_path / "own", tmp_path / "shared"
    for folder, extra in ((own, "turnout.db"), (shared, "notes.txt")):
        folder.mkdir(mode=0o755)
        folder.chmod(0o755)
        (folder / extra).write_text("")
        private_folder(folder)
    assert own.stat().st_mode & 0o777 == 0o700
    assert shared.stat().st_mode & 0o777 == 0o755
    private_folder(tmp_path / "new" / "home")
    assert (tmp_path / "new" / "home").stat().st_mode & 0o777 == 0o700
