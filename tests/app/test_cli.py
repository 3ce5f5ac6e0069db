"""`vae-serve` flags: help with environment names and defaults, errors, overrides."""

import os

import pytest

from app.cli import FLAGS, main, parse_flags


def test_help_lists_every_flag_with_its_environment_name_and_default(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_flags(["--help"])
    assert exited.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for flag, (name, _, _) in FLAGS.items():
        assert flag in text
        assert f"env VAE_{name.upper()}" in text
    assert "default: 8000" in text
    assert "--version" in text


def test_an_unknown_flag_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_flags(["--prot", "9000"])
    assert exited.value.code == 2
    assert "unrecognized arguments: --prot" in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_flags(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith("vae-serve ")


def test_a_bad_value_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAE_PORT", "8000")
    with pytest.raises(SystemExit, match="vae-serve: VAE_PORT: Input should be a valid integer"):
        main(["--port", "eighty"])
    assert os.environ["VAE_PORT"] == "eighty"  # the flag did override the environment
