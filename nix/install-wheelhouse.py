"""Builder of pythonEnvFromWheelhouse: a venv in $out with the wheelhouse installed offline,
its ELF files then patched to load without the host's libraries (``patch_elfs``).

Runs as the derivation's builder with the target Python, so it uses only the standard
library; pip comes from ensurepip's bundled wheel, never from the network.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

# -I leaves this script's directory off sys.path; its sibling modules come with it.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from patch_elfs import patch_environment

# Nix starts a builder with a bare argv[0] and no PATH, so this Python cannot find its own
# executable; the derivation passes it, and the venv is made by a child that can.
python, wheelhouse = sys.argv[1], Path(sys.argv[2])
out = Path(os.environ["out"])
subprocess.run([python, "-I", "-m", "venv", "--symlinks", str(out)], check=True)
env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
env.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_INPUT="1", HOME=os.environ.get("TMPDIR", "/tmp"))
subprocess.run(
    [
        str(out / "bin" / "python"), "-m", "pip", "install",
        "--isolated", "--no-cache-dir", "--disable-pip-version-check", "--no-index",
        "--find-links", str(wheelhouse),
        "--require-hashes", "--requirement", str(wheelhouse / "requirements.lock.txt"),
    ],
    check=True,
    env=env,
)
patch_environment(
    out,
    python,
    os.environ["patchelf"],
    json.loads(os.environ["libraries"]),
    json.loads(os.environ["ignoreMissingLibraries"]),
)
