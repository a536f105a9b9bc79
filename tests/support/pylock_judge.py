"""packaging.pylock as the independent judge of a lock: valid PEP 751, and what it selects.

snapproxy itself needs no ``packaging.pylock`` (packaging 26; its floor is 25).  Where the
test venv's packaging has ``Pylock.select`` (26.1) it is used in process; elsewhere a
cached venv with the newest packaging judges in a subprocess, as tests/support/clients.py
keeps the other tools.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fetcher.lock_target import LockTarget
from tests.support.clients import _tool_venv, clean_client_env

__all__ = ["Selected", "judge"]

def _select(request: dict[str, Any]) -> dict[str, Any]:
    """Self-contained (it also runs alone in the judge venv): {"selected": [{name: [version,
    file name]} per target]}, or {"error": why packaging.pylock refuses the lock}."""
    try:
        import tomllib
    except ImportError:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    from packaging.pylock import Pylock
    from packaging.tags import Tag

    try:
        lock = Pylock.from_dict(tomllib.loads(request["text"]))
        lock.validate()
        selected = []
        for target in request["targets"]:
            tags = [Tag(*tag.split("-")) for tag in target["tags"]]
            chosen = lock.select(environment=target["environment"], tags=tags)
            selected.append(
                {p.name: [str(p.version), getattr(d, "name", None)] for p, d in chosen}
            )
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    return {"selected": selected}


@dataclass(frozen=True)
class Selected:
    """What packaging.pylock selects of a lock for one target."""

    versions: dict[str, str]  # project -> version
    files: dict[str, str]  # project -> the file name of the wheel or sdist selected


def _has_select() -> bool:
    if importlib.util.find_spec("packaging.pylock") is None:
        return False
    from packaging.pylock import Pylock

    return hasattr(Pylock, "select")


def judge(text: str, targets: Sequence[LockTarget] = ()) -> list[Selected]:
    """Validate ``text`` with packaging.pylock (AssertionError with its reason when it is
    no PEP 751 lock), and select it for each target, as an installer on it would: its
    complete marker environment and its PEP 425 tags."""
    request = {
        "text": text,
        "targets": [
            {"environment": t.marker_environment(), "tags": [str(tag) for tag in t.tags()]}
            for t in targets
        ],
    }
    if _has_select():
        answer = _select(request)
    else:
        script = "import json, sys\nfrom typing import Any\n" + inspect.getsource(_select)
        script += "print(json.dumps(_select(json.load(sys.stdin))))\n"
        python = _tool_venv("packaging-judge", "packaging>=26.1", "tomli") / "bin" / "python"
        done = subprocess.run(
            [str(python), "-I", "-c", script],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            env=clean_client_env(),
            check=True,
        )
        answer = json.loads(done.stdout)
    if "error" in answer:
        raise AssertionError(f"packaging.pylock refuses the lock: {answer['error']}")
    return [
        Selected(
            versions={name: version for name, (version, _) in selected.items()},
            files={name: filename for name, (_, filename) in selected.items()},
        )
        for selected in answer["selected"]
    ]
