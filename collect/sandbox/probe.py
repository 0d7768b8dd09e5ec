"""Describe the Python a sandbox runs on (stdlib only; run by that interpreter, as a script).

``python -I probe.py '["numpy", ...]'`` prints one JSON object: the interpreter's version,
its prefixes and import path (where the local sandbox must bind it), the installed version of
each named package (``null`` when absent), and a content hash of every installed
distribution. Run once per run and interpreter, never per episode: on the host with the local
sandbox's interpreter (the same files the jail binds read-only), or in a throwaway container
of the docker sandbox's image.

The content hash covers what each distribution installed, as its ``RECORD`` lists it (path
and sha256 of every file): a rebuilt wheel, a patched file installed by pip, an extra package
all change it, while the environment's own location does not (entries outside
site-packages, such as ``bin/`` scripts whose first line names the interpreter's path, and
files pip writes per install are left out), so the same pins on the same interpreter give
the same hash on any machine, in a venv or in the image.
"""

import hashlib
import json
import platform
import re
import site
import sys

#: Installers, not libraries a teacher uses (``stack.TOOLING``; spelled out: stdlib only).
TOOLING = {"pip", "setuptools", "wheel"}
#: ``RECORD`` entries pip writes per installation, whose content depends on how it was run.
PER_INSTALL = ("/RECORD", "/INSTALLER", "/REQUESTED", "/direct_url.json")


def _normal(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def _record_lines(dist):
    text = dist.read_text("RECORD") or ""
    kept = []
    for line in text.splitlines():
        path, _, rest = line.partition(",")
        if not line or path.startswith("../") or path.endswith(PER_INSTALL) or not rest.strip(","):
            continue  # outside site-packages, per-install, or unhashed (.pyc compiled here)
        kept.append(line)
    return sorted(kept)


def _name_and_version(dist):
    """``Name`` and ``Version`` of the distribution's metadata, as ``dist.metadata`` gives
    them, read from the header lines alone: the full e-mail parser costs half the probe's
    time over a typical stack, and runs before every collection's first sandbox."""
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO")
    if text is None:
        return dist.metadata["Name"], dist.version
    name = version = None
    for line in text.splitlines():
        if not line.strip():
            break  # the headers end at the first blank line
        key, sep, value = line.partition(":")
        if not sep or key[:1].isspace():
            continue
        key = key.strip().lower()
        if key == "name" and name is None:
            name = value.strip()
        elif key == "version" and version is None:
            version = value.strip()
    if name is None or version is None:
        return dist.metadata["Name"], dist.version
    return name, version


def describe(names):
    from importlib import metadata

    versions: dict[str, str] = {}
    hashed: dict[str, str | None] = {}
    for dist in metadata.distributions():
        try:
            raw_name, version = _name_and_version(dist)
            name = _normal(raw_name or "")
        except Exception:
            continue
        if not name or name in hashed:
            continue  # the first on sys.path wins, as for imports
        if name in TOOLING:
            hashed[name] = None
            continue
        versions[name] = version
        digest = hashlib.sha256()
        for line in _record_lines(dist):
            digest.update(line.encode("utf-8", "surrogateescape") + b"\n")
        hashed[name] = f"{version}:{digest.hexdigest()}"
    content = hashlib.sha256()
    content.update(f"{platform.python_implementation()} {platform.python_version()}\n".encode())
    content.update(f"{sys.platform} {platform.machine()}\n".encode())
    for name in sorted(hashed):
        if hashed[name] is not None:
            content.update(f"{name} {hashed[name]}\n".encode())
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation().lower(),
        "machine": platform.machine(),
        "version_info": list(sys.version_info[:2]),
        "executable": sys.executable,
        "prefix": sys.prefix,
        "base_prefix": sys.base_prefix,
        "exec_prefix": sys.exec_prefix,
        "base_exec_prefix": sys.base_exec_prefix,
        "site_packages": site.getsitepackages() if hasattr(site, "getsitepackages") else [],
        "sys_path": [p for p in sys.path if p],
        "packages": {n: versions.get(_normal(n)) for n in names},
        "content_sha256": content.hexdigest(),
    }


if __name__ == "__main__":
    wanted = json.loads(sys.argv[1]) if len(sys.argv) > 1 else []
    sys.stdout.write(json.dumps(describe(wanted)) + "\n")
