"""``--python``: the interpreter pip runs on, checked before any work and unwrapped.

A name is looked up on ``PATH`` as a shell would.  The interpreter must start and say it
is a Python 3 (its ``sys.executable`` and version).  A wrapper that is not the
interpreter itself, such as a pyenv shim (a shell script that finds the real interpreter
from the environment and the working directory), is replaced by the interpreter it ran:
inside a Nix build, or from another directory, the wrapper may pick another Python or
not run at all.
"""

from __future__ import annotations

import os
import shutil
import subprocess

__all__ = ["UnusableInterpreter", "check_python"]

_DESCRIBE = "import sys; print(sys.executable); print(sys.version_info[0])"
_HOW = (
    "give the path of a Python 3 interpreter, "
    "e.g. $(python3 -c 'import sys; print(sys.executable)')"
)


class UnusableInterpreter(ValueError):
    """``--python`` names nothing that runs as a Python 3 interpreter."""


def _located(given: str) -> str:
    if os.sep in given:
        if not os.path.exists(given):
            raise UnusableInterpreter(f"--python {given}: no such file; {_HOW}")
        return given
    found = shutil.which(given)
    if found is None:
        raise UnusableInterpreter(f"--python {given}: no such command on PATH; {_HOW}")
    return found


def check_python(given: str) -> str:
    """The interpreter ``given`` names, as an absolute path; raises
    :class:`UnusableInterpreter` with a one-line reason and the fix."""
    path = _located(given)
    try:
        result = subprocess.run(
            [path, "-I", "-c", _DESCRIBE],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except OSError as exc:
        raise UnusableInterpreter(f"--python {given} cannot run ({exc.strerror}); {_HOW}") from None
    except subprocess.TimeoutExpired:
        raise UnusableInterpreter(f"--python {given} did not answer in 60 s; {_HOW}") from None
    lines = result.stdout.splitlines()
    if result.returncode != 0 or len(lines) != 2 or not os.path.isabs(lines[0]):
        said = (result.stderr.strip().splitlines() or ["no answer"])[-1]
        raise UnusableInterpreter(f"--python {given} is not a working Python ({said}); {_HOW}")
    executable, major = lines
    if major != "3":
        raise UnusableInterpreter(f"--python {given} is Python {major}, not 3; {_HOW}")
    # A venv's python is a link to the base interpreter and runs as itself: keep the
    # name the user gave.  Anything else that ran another file is a wrapper.
    same = os.path.realpath(executable) == os.path.realpath(path)
    return os.path.abspath(path) if same else executable
