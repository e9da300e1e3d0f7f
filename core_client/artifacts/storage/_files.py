"""Local file plumbing: temporary names, atomic publication, and the fastest safe copy.

A file is always written under a temporary name beside its final one and renamed into
place when complete, so a process killed mid-write never leaves a half-written file
under a name a reader trusts. Temporary names carry the writer's process id, so a later
writer can tell a leftover of a dead process from a file another live process is writing.
"""

from __future__ import annotations

import errno
import os

from ..._ids import process_alive

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._progress import ProgressFn

__all__ = ["clean_dead_temps", "clone_file", "is_temp_name", "publish", "temp_name"]

_SUFFIX = ".tracklet-part"
_PROGRESS_STEP = 64 << 20
_FICLONE = 0x40049409  # linux/fs.h: share the source's blocks (btrfs, xfs, ...): a copy-on-write clone


def temp_name(final: str) -> str:
    """A unique temporary path in the folder of ``final``, tagged with this process id."""
    folder, base = os.path.split(final)
    return os.path.join(folder, f".{base}.{os.getpid()}-{os.urandom(4).hex()}{_SUFFIX}")


def is_temp_name(name: str) -> bool:
    """Whether ``name`` (a file name, not a path) is one of ours from :func:`temp_name`."""
    return name.startswith(".") and name.endswith(_SUFFIX)


def _pid_of(name: str) -> int | None:
    try:
        return int(name[: -len(_SUFFIX)].rsplit(".", 1)[1].split("-", 1)[0])
    except (IndexError, ValueError):
        return None


def _alive(pid: int) -> bool:
    return process_alive(pid) is not False


def clean_dead_temps(folder: str) -> int:
    """Remove temporary files in ``folder`` left by processes that no longer run; returns how many."""
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        if not is_temp_name(entry.name):
            continue
        pid = _pid_of(entry.name)
        if pid is not None and pid != os.getpid() and not _alive(pid):
            try:
                os.unlink(entry.path)
                removed += 1
            except OSError:
                pass
    return removed


def publish(temp: str, final: str, read_only: bool = False) -> None:
    """Rename the complete file ``temp`` to ``final`` atomically (replacing what is there)."""
    if read_only:
        os.chmod(temp, 0o444)
    os.replace(temp, final)


def _copy_range(src: int, dst: int, size: int, progress: ProgressFn | None = None) -> bool:
    """Copy in the kernel (no user-space buffer); False where copy_file_range is unsupported.

    With ``progress``, in 64 MiB steps so that a bar moves during a large file.
    """
    copy_file_range = getattr(os, "copy_file_range", None)
    if copy_file_range is None:
        return False
    step = _PROGRESS_STEP if progress is not None else size
    done = 0
    while done < size:
        try:
            n = copy_file_range(src, dst, min(step, size - done))
        except OSError as exc:
            if done == 0 and exc.errno in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EPERM):
                return False
            raise
        if n == 0:
            break
        done += n
        if progress is not None:
            progress(n)
    return True


def clone_file(src: str, dst: str, mode: int = 0o666, progress: ProgressFn | None = None) -> bool:
    """Copy ``src`` to the new file ``dst``: a reflink where the filesystem shares blocks, else a kernel copy.

    Never a hard link: the copy stays independent of the source, so editing one never changes the other.
    ``dst`` is created with ``mode`` (less the umask). Returns False when the bytes had to pass
    through user space (no reflink, no ``copy_file_range``).
    """
    with open(src, "rb") as fin:
        fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), mode)
        with open(fd, "wb") as fout:
            if _reflink(fin.fileno(), fout.fileno()):
                if progress is not None:
                    progress(os.fstat(fout.fileno()).st_size)
                return True
            size = os.fstat(fin.fileno()).st_size
            if _copy_range(fin.fileno(), fout.fileno(), size, progress):
                return True
            fout.seek(0)
            fout.truncate()
            while chunk := fin.read(1 << 20):
                fout.write(chunk)
                if progress is not None:
                    progress(len(chunk))
    return False


_no_reflink: set[int] = set()  # devices where FICLONE failed: not asked again for every file


def _reflink(src: int, dst: int) -> bool:
    """Share ``src``'s blocks with the empty ``dst`` (btrfs, xfs, ...); False where the filesystem cannot."""
    dev = os.fstat(dst).st_dev
    if dev in _no_reflink:
        return False
    try:
        import fcntl

        fcntl.ioctl(dst, _FICLONE, src)
        return True
    except ImportError:
        return False
    except OSError as exc:
        if exc.errno in (errno.EOPNOTSUPP, errno.ENOTTY, errno.EINVAL, errno.ENOSYS):
            _no_reflink.add(dev)  # the filesystem has no reflinks; EXDEV and the like depend on the pair
        return False
