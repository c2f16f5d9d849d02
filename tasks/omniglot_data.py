"""Omniglot images (Lake et al. 2015), read from folders or the official zip files.

Layout (the official one): ``<set>/<Alphabet>/<characterNN>/<NNNN_DD>.png``,
``DD`` the drawer (1..20), 105x105 black strokes on white. ``root`` is a folder
holding any mix of

* set folders (``images_background/``, ``images_background_small1/`` ...), or
  alphabet folders directly,
* zip files of such folders (``images_background.zip``,
  ``images_background_small1.zip`` ...).

Alphabets of the same name found in several places (``Greek`` is in both small
subsets) are read once. Characters are ordered by folder name, drawers by file
name. Images are downsampled to ``size x size`` by area averaging (Pillow's box
filter) and stored as float32 ink intensity in [0, 1] (0 = background).

Reading PNGs needs Pillow (``pip install pillow``).

:func:`download` fetches the official zips with SHA-256 verification; nothing
calls it implicitly.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import urllib.request
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from harness.interface import InputError, SpecError

__all__ = ["OFFICIAL", "Alphabet", "default_root", "download", "load_omniglot"]

URL = "https://github.com/brendenlake/omniglot/raw/master/python/{name}"

OFFICIAL: dict[str, dict[str, str]] = {
    # Digests of the files in github.com/brendenlake/omniglot (python/). The MD5s of
    # the two full sets are the ones torchvision publishes; the SHA-256s of the
    # small subsets are those of the copies in ../shared/data/omniglot. Pass
    # ``sha256=`` to :func:`download` to pin a SHA-256 where only an MD5 is known.
    "images_background.zip": {"md5": "68d2efa1b9178cc56df9314c21c6e718"},
    "images_evaluation.zip": {"md5": "6b91aef0f799c5bb55b94e3f2daec811"},
    "images_background_small1.zip": {
        "sha256": "f38eb80f801274ac2b4dff5b24289016bfaba4a7d5bb50deebf27104ad6cb8a4"
    },
    "images_background_small2.zip": {
        "sha256": "3ccaa407515a8778e5d0861875af38b17e418f301ad5bb3b5a6b65d901a41c7f"
    },
}

_PNG = re.compile(r"\.png$", re.IGNORECASE)


@dataclass(frozen=True)
class Alphabet:
    """One alphabet: ``images[j]`` holds the drawers' versions of character ``j``.

    Attributes
    ----------
    name : str
    characters : tuple of str
        Character folder names, in order.
    images : tuple of ndarray
        One float32 array (drawers, size, size) per character.
    """

    name: str
    characters: tuple[str, ...]
    images: tuple[np.ndarray, ...]

    @property
    def n_characters(self) -> int:
        return len(self.characters)


def default_root() -> Path | None:
    """``../shared/data/omniglot`` next to the repository, if it exists."""
    here = Path(__file__).resolve().parents[2] / "shared" / "data" / "omniglot"
    return here if here.is_dir() else None


def _decode(data: bytes, size: int, where: str) -> np.ndarray:
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - depends on the environment
        raise InputError("reading Omniglot PNGs needs Pillow: pip install pillow") from None
    try:
        with Image.open(io.BytesIO(data)) as im:
            gray = im.convert("L")
            if gray.size != (size, size):
                gray = gray.resize((size, size), Image.Resampling.BOX)
            arr = np.asarray(gray, dtype=np.float32)
    except Exception as exc:
        raise InputError(f"cannot read Omniglot image {where}: {exc}") from None
    return 1.0 - arr / 255.0


# entries: (alphabet, character, file name, bytes loader)
def _split(parts: tuple[str, ...]) -> tuple[str, str, str] | None:
    """(alphabet, character, file) from a path's parts ending in a PNG, else None."""
    if len(parts) < 3 or not _PNG.search(parts[-1]):
        return None
    return parts[-3], parts[-2], parts[-1]


def _zip_entries(path: Path) -> dict[tuple[str, str, str], bytes]:
    out = {}
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if info.is_dir():
                    continue
                key = _split(tuple(p for p in info.filename.split("/") if p))
                if key is not None:
                    out[key] = zf.read(info)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        raise InputError(f"cannot read Omniglot archive {path}: {exc}") from None
    except Exception as exc:  # zlib.error and friends from a damaged member
        raise InputError(f"cannot read Omniglot archive {path}: {exc}") from None
    if not out:
        raise InputError(f"Omniglot archive {path} holds no <Alphabet>/<character>/<png> images")
    return out


def _folder_entries(path: Path) -> dict[tuple[str, str, str], bytes]:
    """The images of one source folder of the root: a set folder or an alphabet folder
    (paths are taken from the root, so an alphabet folder's own name counts)."""
    out = {}
    for png in sorted(path.rglob("*")):
        if png.is_file():
            key = _split(png.relative_to(path.parent).parts)
            if key is not None:
                out[key] = png.read_bytes()
    return out


def _sources(root: Path) -> list[Path]:
    if root.is_file():
        if root.suffix.lower() != ".zip":
            raise SpecError(f"Omniglot root {root} is a file but not a .zip archive")
        return [root]
    if not root.is_dir():
        raise SpecError(f"Omniglot root {root} does not exist")
    zips = sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() == ".zip")
    dirs = sorted(p for p in root.iterdir() if p.is_dir())
    return [*zips, *dirs]


def _signature(root: Path) -> tuple:
    items = []
    for p in _sources(root):
        if p.is_file():
            st = p.stat()
            items.append((str(p), st.st_size, st.st_mtime_ns))
        else:
            items.append((str(p), sum(1 for _ in p.rglob("*.png"))))
    return tuple(items)


def load_omniglot(root: str | os.PathLike[str] | None = None, size: int = 28) -> list[Alphabet]:
    """All alphabets under ``root``, sorted by name, images downsampled to ``size``.

    Parameters
    ----------
    root : path, optional
        A folder (or one zip file) in the layout described in the module
        docstring. Default :func:`default_root`.
    size : int
        Side of the downsampled square images (28 as in Rhodes et al. 2020).

    Returns
    -------
    list of Alphabet

    Raises
    ------
    SpecError
        ``root`` is missing or not a folder/zip, or no default exists.
    InputError
        An archive or image cannot be read (the message names the file), or
        no images are found.
    """
    if root is None:
        root = default_root()
        if root is None:
            raise SpecError(
                "no Omniglot data found at ../shared/data/omniglot; give root=<folder with "
                "images_background/ or images_background.zip> (tasks.omniglot_data.download "
                "fetches the official zips)"
            )
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise SpecError(f"size must be an integer >= 1; got {size!r}")
    try:
        path = Path(root).expanduser().resolve()
        signature = _signature(path)
    except OSError as exc:  # e.g. a name too long for the file system
        raise SpecError(f"omniglot root {str(root)!r}: {exc}") from None
    return list(_load_cached(path, int(size), signature))


@lru_cache(maxsize=4)
def _load_cached(path: Path, size: int, _signature: tuple) -> tuple[Alphabet, ...]:
    entries: dict[tuple[str, str, str], bytes] = {}
    where: dict[tuple[str, str, str], str] = {}
    for src in _sources(path):
        found = _zip_entries(src) if src.is_file() else _folder_entries(src)
        for key, data in found.items():
            if key not in entries:
                entries[key] = data
                where[key] = f"{src}:{'/'.join(key)}"
    if not entries:
        raise InputError(
            f"no Omniglot images under {path} (expected <Alphabet>/<character>/<png> folders "
            "or zip files of them)"
        )
    tree: dict[str, dict[str, list[str]]] = {}
    for alpha, char, file in entries:
        tree.setdefault(alpha, {}).setdefault(char, []).append(file)
    out = []
    for alpha in sorted(tree):
        chars = sorted(tree[alpha])
        images = []
        for char in chars:
            files = sorted(tree[alpha][char])
            images.append(
                np.stack(
                    [
                        _decode(entries[(alpha, char, f)], size, where[(alpha, char, f)])
                        for f in files
                    ]
                )
            )
        out.append(Alphabet(alpha, tuple(chars), tuple(images)))
    return tuple(out)


def _digests(path: Path) -> dict[str, str]:
    hashes = {"md5": hashlib.md5(usedforsecurity=False), "sha256": hashlib.sha256()}
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            for h in hashes.values():
                h.update(block)
    return {k: h.hexdigest() for k, h in hashes.items()}


def _mismatch(path: Path, expected: dict[str, str]) -> str | None:
    got = _digests(path)
    for algo, want in expected.items():
        if got[algo] != want.lower():
            return f"{algo} expected {want}, got {got[algo]}"
    return None


def download(
    root: str | os.PathLike[str],
    names: Iterable[str] = ("images_background.zip", "images_evaluation.zip"),
    sha256: dict[str, str] | None = None,
) -> list[Path]:
    """Fetch official Omniglot zips into ``root`` and verify their digests.

    Parameters
    ----------
    root : path
        Destination folder (created if missing).
    names : iterable of str
        Files of github.com/brendenlake/omniglot/tree/master/python (keys of
        :data:`OFFICIAL`).
    sha256 : dict, optional
        SHA-256 hex digests by file name, checked in addition to :data:`OFFICIAL`.

    Returns
    -------
    list of Path
        The verified files. A file already present with the right digests is kept.

    Raises
    ------
    SpecError
        Unknown file name.
    InputError
        A digest mismatch (the bad download is deleted).
    """
    dest = Path(root)
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    for name in names:
        if name not in OFFICIAL:
            raise SpecError(f"unknown Omniglot file {name!r}; choose from {', '.join(OFFICIAL)}")
        expected = dict(OFFICIAL[name])
        if sha256 and name in sha256:
            expected["sha256"] = sha256[name]
        target = dest / name
        if target.exists() and _mismatch(target, expected) is None:
            out.append(target)
            continue
        part = target.with_suffix(target.suffix + ".part")
        with urllib.request.urlopen(URL.format(name=name), timeout=60) as resp:
            with open(part, "wb") as fh:
                for block in iter(lambda: resp.read(1 << 20), b""):
                    fh.write(block)
        problem = _mismatch(part, expected)
        if problem is not None:
            part.unlink(missing_ok=True)
            raise InputError(f"downloaded {name} failed verification: {problem}")
        part.replace(target)
        out.append(target)
    return out
