"""Writing a file atomically: through a temporary file in the same directory, renamed over the
file once complete, so that an interrupted write never leaves a broken file behind; the next
write to the directory removes the temporary files of killed writes."""
import os
import re
import secrets
import shutil
import stat
import time

try:
    import fcntl
except ImportError:  # Windows: abandoned temporary files are left alone
    fcntl = None

# Short, so that a name of 255 bytes can still be saved: ".nrv" + 8 hex digits + ".tmp".
_TEMPORARY_PREFIX, _TEMPORARY_NAME = ".nrv", re.compile(r"\.nrv[0-9a-f]{8}\.tmp")
_EMPTY_TEMPORARY_AGE = 60.0  # seconds after which an empty, unlocked temporary file is abandoned


def write(path, write_to):
    """Write through a temporary file in the target's directory, then rename it over the target.

    The target is the file `path` names: through a symlink, the file it points to (the link
    stays). The file keeps its permissions; a new one gets the umask's, as open() gives. The
    writer holds an exclusive flock on its temporary file until the rename, so a later save can
    tell the files of killed saves (unlocked) from those of saves in progress."""
    target = os.path.realpath(path)
    directory = os.path.dirname(target)
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"cannot save to {path!r}: the directory {directory!r} does "
                                "not exist")
    existing = _existing_regular_file(path, target)
    temporary = os.path.join(directory, f"{_TEMPORARY_PREFIX}{secrets.token_hex(4)}.tmp")
    # os.open with mode 0o666 lets the umask decide the permissions, as for any new file.
    descriptor = os.open(temporary, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(descriptor, "w+b") as file:
            _lock(descriptor)  # before the first byte: see _remove_abandoned
            if existing is not None:
                os.chmod(temporary, stat.S_IMODE(existing.st_mode))
            write_to(file)
            file.flush()
            os.fsync(file.fileno())
            if existing is not None and existing.st_nlink > 1:
                _copy_in_place(file, target)
                os.remove(temporary)
            else:
                os.replace(temporary, target)  # still locked: nobody removes it before the rename
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise
    _sync_directory(directory)
    _remove_abandoned(directory)


def _existing_regular_file(path, target):
    """os.stat of the file a save replaces, None if there is none yet."""
    try:
        status = os.stat(target)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(status.st_mode):
        raise ValueError(f"cannot save to {path!r}: it is not a regular file (a directory, "
                         f"pipe or device?)")
    return status


def _copy_in_place(complete, target):
    """Copy the complete temporary file over a file with other hard links. A rename would give
    the name a new file and cut it off from its other names, so this writes in place: not
    atomic (a kill during the copy leaves the file broken), but a save that fails while
    serialising still leaves the file untouched, and every name sees the new content."""
    complete.seek(0)
    with open(target, "r+b") as file:
        shutil.copyfileobj(complete, file)
        file.truncate()
        file.flush()
        os.fsync(file.fileno())


def _lock(descriptor):
    # Blocking: another save's _remove_abandoned may hold the lock for an instant.
    if fcntl is not None:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        except OSError:
            pass  # a file system without locks, where _remove_abandoned cannot lock either


def _remove_abandoned(directory):
    """Remove the temporary files that killed saves to `directory` left behind (best effort).

    A temporary file is abandoned when nobody holds its lock (the kernel releases the locks of
    a dead process) and it has data (a writer locks before writing, so an empty unlocked file
    may be a save that has not locked yet, unless it is old)."""
    if fcntl is None:
        return
    try:
        candidates = [entry for entry in os.listdir(directory)
                      if _TEMPORARY_NAME.fullmatch(entry)]
    except OSError:
        return
    for entry in candidates:
        path = os.path.join(directory, entry)
        try:
            descriptor = os.open(path, os.O_RDONLY)
        except OSError:
            continue  # renamed or removed meanwhile
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            status = os.fstat(descriptor)
            if status.st_size > 0 or time.time() - status.st_mtime > _EMPTY_TEMPORARY_AGE:
                os.remove(path)
        except OSError:
            pass  # locked by a save in progress, or already gone
        finally:
            os.close(descriptor)


def _sync_directory(directory):
    """Make the rename itself durable (POSIX; Windows cannot open directories)."""
    if os.name == "posix":
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
