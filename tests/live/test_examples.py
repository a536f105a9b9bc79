"""The runnable examples do what their README says, against real PyPI."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.support.clients import clean_client_env, pip_venv

ROOT = Path(__file__).resolve().parents[2]


def test_proxy_resolve_example_prints_the_2021_requests_closure() -> None:
    # The example runs whatever `python3` is first on PATH; give it a pip with --report.
    venv = pip_venv("26.3")
    env = clean_client_env(PATH=f"{venv / 'bin'}:{clean_client_env()['PATH']}")
    result = subprocess.run(
        [str(ROOT / "examples/proxy/resolve.sh"), "2021-05-01", "requests"],
        capture_output=True, text=True, env=env, timeout=600, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "certifi==2020.12.5",
        "chardet==4.0.0",
        "idna==2.10",
        "requests==2.25.1",
        "urllib3==1.26.4",
    ]
