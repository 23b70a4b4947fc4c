"""Encrypted persister files (kcore-settings[crypto] -> kcore.uncommon)."""

import os
import sys
from dataclasses import dataclass

import pytest

from kcore.persister import Persister, PersisterDictOfDC, PersisterError

PASSWORD = "correct horse battery staple"
SECRET = "the-plaintext-secret"


@dataclass
class Cred:
    user: str
    token: str = ""


def test_encrypted_round_trip_and_file_mode(crypto, tmp_path):
    path = tmp_path / "s.data"
    p = Persister(str(path), default_value={}, password=PASSWORD)
    p.set_data({"token": SECRET})
    raw = path.read_text()
    assert raw.startswith("kcrypt1:") and SECRET not in raw
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert Persister(str(path), password=PASSWORD).get_data() == {"token": SECRET}


def test_wrong_password_is_a_clear_error(crypto, tmp_path):
    path = tmp_path / "s.data"
    PersisterDictOfDC(str(path), Cred, password=PASSWORD).set_data({"a": Cred("u", SECRET)})
    before = path.read_bytes()
    with pytest.raises(PersisterError) as e:
        PersisterDictOfDC(str(path), Cred, password="wrong password")
    msg = str(e.value)
    assert msg.startswith(str(path)) and "invalid password" in msg
    assert "wrong password" not in msg and PASSWORD not in msg and SECRET not in msg
    assert isinstance(e.value, ValueError)
    assert path.read_bytes() == before  # nothing was overwritten


def test_encrypted_file_without_password_and_plain_file_with_one(crypto, tmp_path):
    enc = tmp_path / "enc.data"
    Persister(str(enc), password=PASSWORD).set_data([1])
    with pytest.raises(PersisterError, match="the file is encrypted: pass password="):
        Persister(str(enc))
    plain = tmp_path / "plain.data"
    Persister(str(plain)).set_data([1])
    with pytest.raises(PersisterError, match="expected an encrypted file"):
        Persister(str(plain), password=PASSWORD)


def test_tampered_file(crypto, tmp_path):
    path = tmp_path / "s.data"
    Persister(str(path), password=PASSWORD).set_data({"a": 1})
    text = path.read_text().strip()
    path.write_text(text[:-6] + ("AAAAAA" if not text.endswith("AAAAAA") else "BBBBBB") + "\n")
    with pytest.raises(PersisterError, match=r"s\.data: "):
        Persister(str(path), password=PASSWORD)
    path.write_text(text[:40] + "\n")  # truncated
    with pytest.raises(PersisterError, match="damaged or truncated"):
        Persister(str(path), password=PASSWORD)


def test_missing_extra_names_the_install_command(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "kcore.uncommon", None)  # import now fails
    with pytest.raises(ImportError, match=r"pip install 'kcore-settings\[crypto\]'"):
        Persister(str(tmp_path / "s.data"), password=PASSWORD)


def _original_pcrypt1(plaintext, password):
    """What the original kcore wrote: PBKDF2-SHA256 (150k, fixed salt) + Fernet."""
    import base64

    from cryptography.fernet import Fernet
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

    kdf = PBKDF2HMAC(
        algorithm=hashes.SHA256(), length=32, salt=b"its-bland-without-salt", iterations=150_000
    )
    key = base64.urlsafe_b64encode(kdf.derive(password.encode()))
    return "pcrypt1:" + Fernet(key).encrypt(plaintext.encode()).decode()


def test_original_encrypted_files_need_opt_in_and_are_rewritten(crypto, tmp_path):
    path = tmp_path / "old.data"
    path.write_text(_original_pcrypt1("{'token': 'abc'}", PASSWORD) + "\n")
    with pytest.raises(PersisterError, match="legacy"):
        Persister(str(path), password=PASSWORD)
    p = Persister(str(path), password=PASSWORD, legacy_crypto=True)
    assert p.get_data() == {"token": "abc"}
    p.set_data()  # saving writes the new format
    assert path.read_text().startswith("kcrypt1:")
    assert Persister(str(path), password=PASSWORD).get_data() == {"token": "abc"}
