"""Builder of wheelhouseFromPylock: copy the fetched files into $out, add the lock text.

Standard library only (it runs as a derivation builder): $files is a JSON object of index
filename -> fetched store path, $requirementsLock the requirements.lock.txt to write.
"""

import json
import os
import shutil
from pathlib import Path

out = Path(os.environ["out"])
out.mkdir()
for filename, source in sorted(json.loads(os.environ["files"]).items()):
    if "/" in filename or filename in (".", ".."):
        raise SystemExit(f"refusing the file name {filename!r}")
    shutil.copyfile(source, out / filename)
    os.chmod(out / filename, 0o444)
(out / "requirements.lock.txt").write_text(os.environ["requirementsLock"], encoding="utf-8")
os.chmod(out / "requirements.lock.txt", 0o444)
os.chmod(out, 0o555)
