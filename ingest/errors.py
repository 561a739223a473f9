"""The two kinds of trouble podkb reports in one line: a bad input file, and a faulty store."""
from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path


class BadInput(Exception):
    """A file that cannot become an episode. The message is the reason, one line, without the path."""


class StoreError(Exception):
    """The knowledge base's files can't be read or written. The message names the folder, the cause and a fix."""


def store_problem(kb: str | Path | None, error: BaseException) -> str:
    """One line for a fault of the store itself (damage, permissions, a full disk), with what to do about it."""
    where = str(kb) if kb else "the knowledge base"
    if isinstance(error, StoreError):
        return str(error)
    message = " ".join(str(error).split()) or type(error).__name__
    code = getattr(error, "sqlite_errorcode", None)
    if isinstance(error, OSError) and error.errno == errno.ENOSPC or code == sqlite3.SQLITE_FULL \
            or "disk is full" in message:
        return f"{where}: no space left on the device; free some space and run the command again " \
               "(what was stored before is kept)"
    unwritable = kb is not None and Path(kb).exists() and not os.access(kb, os.W_OK)
    if (isinstance(error, OSError) and error.errno in (errno.EROFS, errno.EACCES, errno.EPERM)) \
            or code in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM) or "readonly" in message \
            or (unwritable and (code == sqlite3.SQLITE_CANTOPEN or "unable to open" in message)):
        return f"{where}: the knowledge base can't be written ({message}); check the permissions of the " \
               "folder and its podkb.db, or use another --kb"
    if code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB) or "malformed" in message \
            or "not a database" in message:
        return f"{where}: podkb.db is damaged ({message}); restore it from a backup, or move it aside " \
               "and add your files again"
    if code == sqlite3.SQLITE_BUSY or "locked" in message:
        return f"{where}: another process keeps the knowledge base locked ({message}); try again when it is done"
    if code == sqlite3.SQLITE_CANTOPEN:
        return f"{where}: podkb.db can't be opened ({message}); check that the folder exists and is writable"
    if isinstance(error, OSError):
        name = f" {error.filename}" if error.filename else ""
        return f"{where}: {error.strerror or message}:{name}"
    return f"{where}: {message}"
