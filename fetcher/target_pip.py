"""pip resolving in a lock target's PEP 508 environment, not in its interpreter's.

pip's ``--platform``, ``--python-version``, ``--implementation`` and ``--abi`` choose
wheels by their PEP 425 tags and check ``Requires-Python`` against the version given, but
pip still evaluates every dependency's PEP 508 marker in the interpreter that runs it:
``click`` asks for ``colorama; platform_system == "Windows"``, and pip on Linux leaves it
out of a ``--platform win_amd64`` resolution.  So pip runs here through a launcher that
first makes the marker environment the target's, then runs pip's own ``__main__``.

pip evaluates markers with its vendored ``packaging``: ``Marker.evaluate`` starts from
the module function ``pip._vendor.packaging.markers.default_environment()``, looked up
when it is called (in packaging 21.3 of pip 22.2 as in 26.3 of pip 26.3, which caches
what that function copies); the installation report's ``environment`` comes from the
same function, imported by name.  The launcher replaces that function before the rest of
pip is imported, so every later ``from ... import default_environment`` gets the
target's too, and replaces any binding made earlier.  It then checks that a marker
naming every variable holds, which no real machine passes by chance (its
``platform_release`` is never empty): a pip whose ``packaging`` stopped looking the
function up stops with that message instead of resolving for the wrong environment.
Checked with the real pips 23.3 (the first that takes the target options for ``install
--dry-run`` without ``--target``), 24.0, 25.0 and 26.3.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from fetcher.lock_target import LockTarget
from fetcher.pip_runner import Target

__all__ = ["LAUNCHER", "MarkedTarget", "pip_target"]

# Run as ``python -c LAUNCHER PIP ENVIRONMENT pip-arguments...``: PIP is the wheel or the
# directory it was unpacked into, ENVIRONMENT the marker environment as a JSON object.
LAUNCHER = """\
import os, sys
# As pip's own __main__ does, and before any import: nothing comes from the working
# directory (``-c`` puts it first on the path, before the standard library).
if sys.path and sys.path[0] in ("", os.getcwd()):
    sys.path.pop(0)
import json, runpy
location, environment = sys.argv[1], json.loads(sys.argv[2])
del sys.argv[1:3]
sys.path.insert(0, location)
import pip
if os.path.dirname(os.path.dirname(os.path.abspath(pip.__file__))) != location:
    sys.exit("ERROR: snapproxy found no pip in %s (it would run %s)" % (location, pip.__file__))
from pip._vendor.packaging import markers
original = markers.default_environment
def default_environment():
    return dict(environment)
markers.default_environment = default_environment
for module in list(sys.modules.values()):
    if getattr(module, "default_environment", None) is original:
        module.default_environment = default_environment
every = " and ".join('%s == "%s"' % item for item in sorted(environment.items()))
if not markers.Marker(every).evaluate():
    sys.exit("ERROR: snapproxy cannot make this pip evaluate markers for the target "
             "(its vendored packaging no longer calls markers.default_environment)")
runpy.run_module("pip", run_name="__main__", alter_sys=True)
"""


@dataclass(frozen=True)
class MarkedTarget(Target):
    """A :class:`Target` whose pip evaluates markers in ``markers``, a complete PEP 508
    environment, instead of its interpreter's.  ``markers`` is a field, so a remembered
    resolution (resolution_memo keys on the target's fields) is one made for it."""

    markers: tuple[tuple[str, str], ...] = ()

    def environment(self, running: Mapping[str, str]) -> dict[str, str]:
        """The target's environment: nothing of the machine's (``running``) is left."""
        return dict(self.markers)

    def pip_command(self, pip: Path) -> list[str]:
        environment = json.dumps(dict(self.markers), sort_keys=True)
        # Absolute: pip runs in a work directory of its own.  The launcher refuses to run
        # any pip but this one (an import would otherwise find the interpreter's own).
        return [self.python, "-c", LAUNCHER, os.path.abspath(pip), environment]


def pip_target(target: LockTarget, python: str) -> MarkedTarget:
    """What runs pip (``python``, any Python 3 the pinned pip runs on) to resolve for
    ``target``: its tags (wheels only: pip refuses ``--platform`` otherwise, and an sdist's
    build would run for this machine) and its marker environment."""
    return MarkedTarget(
        python=python,
        only_binary=True,
        platforms=tuple(target.platforms()),
        python_version=target.python_version,
        implementation=target.implementation,
        abis=tuple(target.abis),
        markers=tuple(sorted(target.marker_environment().items())),
    )
