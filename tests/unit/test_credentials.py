"""Credentials of private indexes: read from URLs and netrc files, never shown."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from snapproxy.credentials import (
    Credentials,
    NetrcUnreadable,
    RedactingFilter,
    Redactor,
    default_netrc,
    read_netrc,
    redact_url,
    split_credentials,
)

SECRET = "p@ss:w/rd%7E"


def test_split_credentials_decodes_and_strips() -> None:
    url, found = split_credentials("https://alice%40corp:p%40ss%3Aw%2Frd@host:8443/simple/")
    assert url == "https://host:8443/simple/"
    assert found == Credentials("alice@corp", "p@ss:w/rd")


def test_url_without_credentials() -> None:
    assert split_credentials("https://host/simple/") == ("https://host/simple/", None)


def test_repr_hides_the_password() -> None:
    shown = repr(Credentials("alice", SECRET))
    assert "alice" in shown
    assert SECRET not in shown


def test_redact_url() -> None:
    assert redact_url("https://alice:pw@host/simple/") == "https://****@host/simple/"
    assert redact_url("https://host/x") == "https://host/x"


def test_header_is_basic_auth() -> None:
    # RFC 7617: base64 of user:password.
    assert Credentials("Aladdin", "open sesame").header() == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="


def test_redactor_masks_every_form() -> None:
    found = Credentials("alice", SECRET)
    redact = Redactor([found, None])
    text = f"a {SECRET} b p%40ss%3Aw%2Frd%257E c {found.header()}"
    masked = redact(text)
    assert SECRET not in masked
    assert "p%40ss%3Aw%2Frd%257E" not in masked
    assert found.header().split()[1] not in masked
    assert masked.count("****") == 3


def test_logging_filter_masks_messages_and_exceptions(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.redaction")
    handler = caplog.handler
    handler.addFilter(RedactingFilter(Redactor([Credentials("alice", SECRET)])))
    try:
        logger.warning("upstream said %s", SECRET)
        try:
            raise ValueError(f"boom {SECRET}")
        except ValueError:
            logger.exception("failed")
    finally:
        handler.filters.clear()
    assert SECRET not in caplog.text
    assert "upstream said ****" in caplog.text


def test_netrc_lookup(tmp_path: Path) -> None:
    path = tmp_path / "netrc"
    path.write_text(
        "machine corp.example login alice password s3cret\n"
        "default login anon password anonpw\n"
    )
    path.chmod(0o600)
    lookup = read_netrc(path)
    assert lookup("corp.example") == Credentials("alice", "s3cret")
    assert lookup("other.example") == Credentials("anon", "anonpw")
    assert read_netrc(None)("corp.example") is None


def test_malformed_netrc_names_the_line_not_the_token(tmp_path: Path) -> None:
    path = tmp_path / "netrc"
    path.write_text("machine corp.example login alice password s3cret\nbogus-token-s3cret\n")
    path.chmod(0o600)
    with pytest.raises(NetrcUnreadable) as info:
        read_netrc(path)
    assert str(path) in str(info.value)
    assert "s3cret" not in str(info.value)


def test_default_netrc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "n"
    path.write_text("")
    monkeypatch.setenv("NETRC", str(path))
    assert default_netrc() == path
    monkeypatch.setenv("NETRC", str(tmp_path / "absent"))
    assert default_netrc() is None
    monkeypatch.delenv("NETRC")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_netrc() is None
    (tmp_path / ".netrc").write_text("")
    assert default_netrc() == tmp_path / ".netrc"
