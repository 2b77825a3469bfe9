"""The TensorFlow releases of `tox -m matrix`, as JSON for a GitHub Actions job matrix.

The list is read from tox.ini (the environments labelled `matrix` that pin a TensorFlow in
TF_PINS), so adding a release to tox.ini adds a job: it is never kept twice.
`--prerelease` keeps only the newest candidate (for the weekly job), or none.

    python .ci/releases.py [--prerelease]   # prints e.g. ["tf215", ..., "tf222rc0"]
"""

from __future__ import annotations

import argparse
import configparser
import json
import re
import subprocess
import sys

from packaging.version import Version


def releases() -> dict[str, Version]:
    """Environment name -> the TensorFlow it pins, in tox.ini's order."""
    text = subprocess.run(["tox", "config", "-m", "matrix", "-k", "set_env"], check=True,
                          capture_output=True, text=True).stdout
    config = configparser.ConfigParser(interpolation=None)
    config.read_string(text)
    found: dict[str, Version] = {}
    for section in config.sections():
        pin = re.search(r"tensorflow(?:-cpu)?==(\S+)", config[section].get("set_env", ""))
        if pin:
            found[section.removeprefix("testenv:")] = Version(pin.group(1))
    if not found:
        sys.exit("tox.ini labels no environment `matrix` that pins TensorFlow in TF_PINS")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prerelease", action="store_true", help="only the newest pre-release")
    args = parser.parse_args()
    found = releases()
    names = list(found)
    if args.prerelease:
        candidates = sorted((v, n) for n, v in found.items() if v.is_prerelease)
        names = [candidates[-1][1]] if candidates else []
    print(json.dumps(names))


if __name__ == "__main__":
    main()
