"""Adversarial trees for the guarded file layer's tests: what a hostile or careless output
folder can hold at each place the jobs write, and a fingerprint of everything outside it."""

from __future__ import annotations

import hashlib
import os
import stat

# what can sit at a place where the job writes a folder or a file
KINDS = ("link_to_dir", "link_to_file", "dangling_link", "file", "folder", "fifo",
         "hard_link", "foreign_file", "read_only_folder")


def make_sentinel(outside) -> None:
    """A tree outside the root that nothing may change: files, a folder, a link."""
    os.makedirs(os.path.join(outside, "dir", "sub"), exist_ok=True)
    for rel, text in {"file.txt": "precious", "dir/part-00000-of-00001.parquet": "PAR1x",
                      "dir/summary.json": "{}", "dir/sub/deep.txt": "deep",
                      "hard.txt": "hard-linked"}.items():
        with open(os.path.join(outside, rel), "w") as f:
            f.write(text)
    if not os.path.lexists(os.path.join(outside, "dir", "back")):
        os.symlink(os.path.join(outside, "file.txt"), os.path.join(outside, "dir", "back"))


def fingerprint(folder) -> dict:
    """Every entry under ``folder``: files by sha256 and mode, links by target, folders."""
    out = {}
    for base, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = os.path.join(base, name)
            rel = os.path.relpath(path, folder)
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", stat.S_IMODE(st.st_mode))
            elif stat.S_ISREG(st.st_mode):
                with open(path, "rb") as f:
                    out[rel] = ("file", hashlib.sha256(f.read()).hexdigest(),
                                stat.S_IMODE(st.st_mode))
            else:
                out[rel] = ("other", stat.S_IFMT(st.st_mode))
    return out


def plant(root, rel: str, kind: str, outside) -> bool:
    """Put ``kind`` at ``root/rel`` (creating real parent folders); False if it cannot
    be placed (a parent is already something else)."""
    path = os.path.join(root, rel)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if os.path.lexists(path):
            return False
        if kind == "link_to_dir":
            os.symlink(os.path.join(outside, "dir"), path)
        elif kind == "link_to_file":
            os.symlink(os.path.join(outside, "file.txt"), path)
        elif kind == "dangling_link":
            os.symlink(os.path.join(outside, "not-yet", os.path.basename(rel)), path)
        elif kind == "file":
            with open(path, "w") as f:
                f.write("a file where the job may want a folder")
        elif kind == "folder":
            os.makedirs(os.path.join(path, "inside"))
        elif kind == "fifo":
            os.mkfifo(path)
        elif kind == "hard_link":
            os.link(os.path.join(outside, "hard.txt"), path)
        elif kind == "foreign_file":
            with open(path, "w") as f:
                f.write("somebody else's file with a name like ours")
        elif kind == "read_only_folder":
            os.makedirs(path)
            os.chmod(path, 0o555)
        return True
    except OSError:  # a parent is a link, a file, ...: the tree stays as it is
        return False


def make_writable(folder) -> None:
    """Undo read-only folders so pytest can remove the tree."""
    for base, dirs, _ in os.walk(folder):
        for d in dirs:
            p = os.path.join(base, d)
            if not os.path.islink(p):
                os.chmod(p, 0o755)


def one_line_naming_a_path(message: str, *paths) -> bool:
    return "\n" not in message.strip() and any(str(p) in message for p in paths)
