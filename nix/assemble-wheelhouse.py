"""Builder of wheelhouseFromPylock: copy the fetched files into $out, add the lock text.

Standard library only (it runs as a derivation builder): $files is a JSON object of index
filename -> {"path": fetched store path, "sha256": hex digest}, $requirementsLock the
requirements.lock.txt to write.

fetchurl has checked every file's sha256 already (each is a fixed-output derivation);
the copy is checked again, and so is the lock text: every hash it names must be one of a
file here, or `pip install --require-hashes` would fail later, offline, with less to say.
"""

import hashlib
import json
import os
import re
import shutil
from pathlib import Path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


out = Path(os.environ["out"])
files = json.loads(os.environ["files"])
lock_text = os.environ["requirementsLock"]

known = {entry["sha256"].lower() for entry in files.values()}
missing = sorted(set(re.findall(r"--hash=sha256:([0-9a-fA-F]{64})", lock_text)) - known)
if missing:
    raise SystemExit(f"requirements.lock.txt names files that are not in the wheelhouse: {missing}")

out.mkdir()
for filename, entry in sorted(files.items()):
    if "/" in filename or filename in (".", "..") or filename == "requirements.lock.txt":
        raise SystemExit(f"refusing the file name {filename!r}")
    target = out / filename
    shutil.copyfile(entry["path"], target)
    digest = sha256_of(target)
    if digest != entry["sha256"].lower():
        raise SystemExit(f"{filename}: sha256 {digest}, the lock says {entry['sha256']}")
    os.chmod(target, 0o444)
(out / "requirements.lock.txt").write_text(lock_text, encoding="utf-8")
os.chmod(out / "requirements.lock.txt", 0o444)
os.chmod(out, 0o555)
