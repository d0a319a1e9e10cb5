"""The blocking-call catalogue of async-to-sync: data, kept in one place.

A call blocks when its callee's qualified name matches a function pattern
(``time.sleep``, ``requests.get``) or when it calls a method on a value of a known
type (``sqlalchemy.orm.Session.query``, ``requests.Session.get``). Types come from
annotations, constructors and the result tables below; every pattern is an
``fnmatchcase`` pattern on qualified names, the same shape users write in
``blocking-calls``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from fnmatch import translate
from functools import cache

THREADPOOL_ADVICE = "`await run_in_threadpool(fn, ...)` (from fastapi.concurrency)"

# Canonical type names, so that each family lists one name per type.
FILE = "io.IOBase"
SESSION = "sqlalchemy.orm.Session"
PATH = "pathlib.Path"
MONGO_CLIENT, MONGO_DATABASE, MONGO_COLLECTION = (
    "pymongo.MongoClient",
    "pymongo.database.Database",
    "pymongo.collection.Collection",
)
BOTO_CLIENT, BOTO_RESOURCE = "botocore.client.BaseClient", "boto3.resources.base.ServiceResource"
SQL_ENGINE, SQL_CONNECTION = "sqlalchemy.engine.Engine", "sqlalchemy.engine.Connection"
ASYNC_SESSION = "sqlalchemy.ext.asyncio.AsyncSession"
ASYNC_ENGINE, ASYNC_CONNECTION = (
    "sqlalchemy.ext.asyncio.AsyncEngine",
    "sqlalchemy.ext.asyncio.AsyncConnection",
)
# ``session.begin()``: a transaction, whose ``with`` binds the transaction, not a Session.
SESSION_TRANSACTION = "sqlalchemy.orm.SessionTransaction"
# ``SessionLocal.begin()`` on a sessionmaker: a manager whose ``with`` binds a new Session.
SESSION_BEGIN = "sqlalchemy.orm.sessionmaker.begin()"
ASYNC_SESSION_BEGIN = "sqlalchemy.ext.asyncio.async_sessionmaker.begin()"


@dataclass(frozen=True)
class Family:
    """Blocking calls of one library, and what async code uses instead."""

    name: str
    advice: str
    functions: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()  # "<type>.<method>" patterns
    not_blocking: tuple[str, ...] = ()  # exceptions to both lists

    def matches(self, qualified: str, patterns: Sequence[str]) -> bool:
        return _matcher(tuple(patterns))(qualified) and not _matcher(self.not_blocking)(qualified)


@cache
def _matcher(patterns: tuple[str, ...]) -> Callable[[str], bool]:
    """Whether a name matches any of the patterns, as ``fnmatchcase`` does: one regex for all."""
    if not patterns:
        return lambda qualified: False
    pattern = re.compile("|".join(translate(p) for p in patterns))
    return lambda qualified: pattern.match(qualified) is not None


def _each(prefix: str, names: str) -> tuple[str, ...]:
    return tuple(f"{prefix}.{name}" for name in names.split())


_HTTP_VERBS = "get post put patch delete head options request"

FAMILIES: tuple[Family, ...] = (
    Family("time.sleep", "`await asyncio.sleep(...)`", functions=("time.sleep",)),
    Family(
        "requests",
        "`httpx.AsyncClient` (`await client.get(...)`)",
        functions=(*_each("requests", _HTTP_VERBS), "requests.api.*"),
        methods=_each("requests.Session", _HTTP_VERBS + " send"),
    ),
    Family(
        "httpx (sync)",
        "`httpx.AsyncClient` (`await client.get(...)`)",
        functions=_each("httpx", _HTTP_VERBS + " stream"),
        methods=_each("httpx.Client", _HTTP_VERBS + " send stream close"),
    ),
    Family(
        "urllib",
        "`httpx.AsyncClient` (`await client.get(...)`)",
        functions=("urllib.request.urlopen", "urllib.request.urlretrieve", "urllib3.request"),
        methods=(
            "urllib3.PoolManager.*",
            "urllib3.ProxyManager.*",
            "urllib3.HTTPConnectionPool.*",
            "urllib3.HTTPSConnectionPool.*",
        ),
    ),
    Family(
        "file I/O",
        "`anyio.open_file(...)` / `await anyio.Path(...).read_text()`",
        functions=(
            "builtins.open",
            "io.open",
            "io.open_code",
            "os.fdopen",
            "codecs.open",
            "tempfile.NamedTemporaryFile",
            "tempfile.TemporaryFile",
            "tempfile.mkstemp",
            "tempfile.mkdtemp",
            "tempfile.TemporaryDirectory",
        ),
        methods=_each(
            FILE,
            "read read1 readinto readline readlines readall write writelines "
            "flush seek truncate close",
        ),
    ),
    Family(
        "os.path",
        "`anyio.Path` (`await anyio.Path(p).exists()`)",
        functions=_each(
            "os.path",
            "exists lexists isfile isdir islink ismount getsize getmtime "
            "getatime getctime samefile sameopenfile realpath",
        ),
    ),
    Family(
        "pathlib",
        "`anyio.Path` (`await anyio.Path(p).read_text()`)",
        methods=_each(
            PATH,
            "read_text read_bytes write_text write_bytes open exists is_file is_dir "
            "is_symlink is_mount mkdir rmdir unlink iterdir glob rglob walk stat lstat "
            "touch rename replace resolve samefile chmod lchmod owner group readlink "
            "symlink_to hardlink_to expanduser absolute",
        ),
    ),
    Family(
        "subprocess",
        "`asyncio.create_subprocess_exec(...)` / `anyio.run_process(...)`",
        functions=_each(
            "subprocess", "run call check_call check_output Popen getoutput getstatusoutput"
        )
        + _each("os", "system popen spawn* posix_spawn* wait wait3 wait4 waitid waitpid"),
        methods=_each("subprocess.Popen", "wait communicate"),
    ),
    Family("input", "a request parameter instead of `input()`", functions=("builtins.input",)),
    Family(
        "SQLAlchemy Session",
        "SQLAlchemy's asyncio extension (`AsyncSession`: `await session.execute(...)`)",
        methods=_each(
            SESSION,
            "query execute scalar scalars get get_one exec flush refresh delete "
            "commit rollback merge connection bulk_save_objects "
            "bulk_insert_mappings bulk_update_mappings",
        )
        + _each(SQL_ENGINE, "connect begin execute raw_connection")
        + _each(SQL_CONNECTION, "execute exec_driver_sql scalar scalars commit rollback"),
    ),
    Family(
        "sqlite3",
        "`aiosqlite`",
        functions=("sqlite3.connect",),
        methods=_each(
            "sqlite3.Connection", "execute executemany executescript commit rollback backup"
        )
        + _each("sqlite3.Cursor", "execute executemany executescript fetchone fetchmany fetchall"),
    ),
    Family(
        "PostgreSQL driver",
        "`asyncpg` or psycopg 3's `AsyncConnection`",
        functions=("psycopg2.connect", "psycopg.connect"),
        methods=_each("psycopg2.extensions.connection", "commit rollback")
        + _each(
            "psycopg2.extensions.cursor",
            "execute executemany fetchone fetchmany fetchall callproc "
            "copy_from copy_to copy_expert",
        )
        + _each("psycopg.Connection", "execute commit rollback")
        + _each("psycopg.Cursor", "execute executemany fetchone fetchmany fetchall"),
    ),
    Family(
        "MySQL driver",
        "`aiomysql` / `asyncmy`",
        functions=("pymysql.connect", "MySQLdb.connect", "mysql.connector.connect"),
        methods=_each("pymysql.connections.Connection", "commit rollback ping")
        + _each(
            "pymysql.cursors.Cursor", "execute executemany fetchone fetchmany fetchall callproc"
        ),
    ),
    Family(
        "pymongo",
        "`motor` or pymongo's `AsyncMongoClient`",
        methods=tuple(
            f"{kind}.{name}"
            for kind in (MONGO_CLIENT, MONGO_DATABASE, MONGO_COLLECTION)
            for name in (
                "find find_one insert_one insert_many update_one update_many delete_one "
                "delete_many replace_one aggregate count_documents estimated_document_count "
                "distinct find_one_and_delete find_one_and_replace find_one_and_update bulk_write "
                "create_index create_indexes drop drop_collection list_collection_names "
                "list_database_names command server_info"
            ).split()
        ),
    ),
    Family(
        "redis (sync)",
        "`redis.asyncio`",
        methods=("redis.Redis.*", "redis.client.Pipeline.execute"),
        not_blocking=(
            "redis.Redis.pipeline",
            "redis.Redis.pubsub",
            "redis.Redis.lock",
            "redis.Redis.register_script",
            "redis.Redis.get_encoder",
        ),
    ),
    Family(
        "boto3",
        "`aioboto3` / `aiobotocore`",
        methods=(f"{BOTO_CLIENT}.*", f"{BOTO_RESOURCE}.*"),
        not_blocking=(
            f"{BOTO_CLIENT}.get_paginator",
            f"{BOTO_CLIENT}.get_waiter",
            f"{BOTO_CLIENT}.can_paginate",
            f"{BOTO_RESOURCE}.[A-Z]*",
        ),
    ),
    Family(
        "socket",
        "`asyncio.open_connection(...)` streams",
        functions=_each(
            "socket",
            "create_connection create_server getaddrinfo gethostbyname "
            "gethostbyname_ex gethostbyaddr getfqdn",
        ),
        methods=_each(
            "socket.socket",
            "connect connect_ex accept recv recvfrom recv_into recvfrom_into "
            "recvmsg send sendall sendto sendmsg sendfile",
        ),
    ),
    Family(
        "smtplib",
        "`aiosmtplib`",
        functions=("smtplib.SMTP", "smtplib.SMTP_SSL", "smtplib.LMTP"),
        methods=("smtplib.SMTP.*", "smtplib.SMTP_SSL.*"),
        not_blocking=("smtplib.SMTP.set_debuglevel", "smtplib.SMTP_SSL.set_debuglevel"),
    ),
    Family(
        "ftplib",
        "`aioftp`",
        functions=("ftplib.FTP", "ftplib.FTP_TLS"),
        methods=("ftplib.FTP.*", "ftplib.FTP_TLS.*"),
        not_blocking=("ftplib.FTP.set_pasv", "ftplib.FTP.set_debuglevel"),
    ),
    Family(
        "shutil",
        "`anyio.Path` methods",
        functions=("shutil.*",),
        not_blocking=(
            "shutil.[A-Z]*",
            "shutil.get_terminal_size",
            "shutil.register_*",
            "shutil.unregister_*",
            "shutil.get_archive_formats",
            "shutil.get_unpack_formats",
        ),
    ),
    Family(
        "os file system",
        "`anyio.Path` methods",
        functions=_each(
            "os",
            "remove unlink rename renames replace listdir scandir makedirs mkdir rmdir "
            "removedirs stat lstat walk chmod chown link symlink readlink utime "
            "truncate statvfs fsync open read write",
        ),
    ),
    Family("glob", "`anyio.Path(...).glob(...)`", functions=("glob.glob", "glob.iglob")),
    Family(
        "file (de)serialisation",
        "`anyio.open_file(...)` and then `json.loads(...)`",
        functions=(
            "json.load",
            "json.dump",
            "pickle.load",
            "pickle.dump",
            "marshal.load",
            "marshal.dump",
        ),
    ),
    Family("pandas I/O", THREADPOOL_ADVICE, functions=("pandas.read_*",)),
)

# Other spellings of the catalogue's types.
TYPE_ALIASES: dict[str, str] = {
    "sqlalchemy.orm.session.Session": SESSION,
    "sqlmodel.Session": SESSION,
    "sqlmodel.orm.session.Session": SESSION,
    "sqlalchemy.orm.scoping.scoped_session": "sqlalchemy.orm.scoped_session",
    "sqlalchemy.orm.session.sessionmaker": "sqlalchemy.orm.sessionmaker",
    "sqlalchemy.Engine": SQL_ENGINE,
    "sqlalchemy.engine.base.Engine": SQL_ENGINE,
    "sqlalchemy.Connection": SQL_CONNECTION,
    "sqlalchemy.engine.base.Connection": SQL_CONNECTION,
    "requests.sessions.Session": "requests.Session",
    "httpx._client.Client": "httpx.Client",
    "pathlib.PosixPath": PATH,
    "pathlib.WindowsPath": PATH,
    "typing.IO": FILE,
    "typing.TextIO": FILE,
    "typing.BinaryIO": FILE,
    "io.TextIOWrapper": FILE,
    "io.BufferedReader": FILE,
    "io.BufferedWriter": FILE,
    "io.BufferedRandom": FILE,
    "io.FileIO": FILE,
    "tempfile.SpooledTemporaryFile": FILE,
    "redis.StrictRedis": "redis.Redis",
    "redis.client.Redis": "redis.Redis",
    "redis.client.StrictRedis": "redis.Redis",
    "pymongo.mongo_client.MongoClient": MONGO_CLIENT,
    "smtplib.SMTP_SSL": "smtplib.SMTP",
    "fastapi.applications.FastAPI": "fastapi.FastAPI",
    "fastapi.routing.APIRouter": "fastapi.APIRouter",
    "starlette.datastructures.UploadFile": "fastapi.UploadFile",
    "fastapi.datastructures.UploadFile": "fastapi.UploadFile",
}

# What a call returns, when it is not simply an instance of the callee's name.
CALL_RESULTS: dict[str, str] = {
    "builtins.open": FILE,
    "io.open": FILE,
    "os.fdopen": FILE,
    "codecs.open": FILE,
    "tempfile.NamedTemporaryFile": FILE,
    "tempfile.TemporaryFile": FILE,
    "sqlite3.connect": "sqlite3.Connection",
    "sqlite3.Connection.cursor": "sqlite3.Cursor",
    "sqlite3.Connection.execute": "sqlite3.Cursor",
    "sqlite3.Cursor.execute": "sqlite3.Cursor",
    "psycopg2.connect": "psycopg2.extensions.connection",
    "psycopg2.extensions.connection.cursor": "psycopg2.extensions.cursor",
    "psycopg.connect": "psycopg.Connection",
    "psycopg.Connection.cursor": "psycopg.Cursor",
    "pymysql.connect": "pymysql.connections.Connection",
    "pymysql.connections.Connection.cursor": "pymysql.cursors.Cursor",
    "redis.from_url": "redis.Redis",
    "redis.Redis.from_url": "redis.Redis",
    "redis.Redis.pipeline": "redis.client.Pipeline",
    "boto3.client": BOTO_CLIENT,
    "boto3.resource": BOTO_RESOURCE,
    "boto3.Session.client": BOTO_CLIENT,
    "boto3.session.Session.client": BOTO_CLIENT,
    "boto3.Session.resource": BOTO_RESOURCE,
    "boto3.session.Session.resource": BOTO_RESOURCE,
    "sqlalchemy.create_engine": SQL_ENGINE,
    "sqlalchemy.engine.create_engine": SQL_ENGINE,
    f"{SQL_ENGINE}.connect": SQL_CONNECTION,
    f"{SQL_ENGINE}.begin": SQL_CONNECTION,
    "socket.socket": "socket.socket",
    "socket.create_connection": "socket.socket",
    "socket.socket.accept": "socket.socket",
    "subprocess.Popen": "subprocess.Popen",
    # Calling a session factory makes a session.
    "sqlalchemy.orm.sessionmaker": "sqlalchemy.orm.sessionmaker",
    "sqlalchemy.orm.scoped_session": "sqlalchemy.orm.scoped_session",
    "sqlalchemy.orm.sessionmaker()": SESSION,
    "sqlalchemy.orm.scoped_session()": SESSION,
    "sqlalchemy.ext.asyncio.async_sessionmaker": "sqlalchemy.ext.asyncio.async_sessionmaker",
    "sqlalchemy.ext.asyncio.async_sessionmaker()": ASYNC_SESSION,
    "sqlalchemy.ext.asyncio.create_async_engine": ASYNC_ENGINE,
    f"{ASYNC_ENGINE}.connect": ASYNC_CONNECTION,
    f"{ASYNC_ENGINE}.begin": ASYNC_CONNECTION,
    f"{SESSION}.begin": SESSION_TRANSACTION,
    f"{SESSION}.begin_nested": SESSION_TRANSACTION,
    "sqlalchemy.orm.sessionmaker.begin": SESSION_BEGIN,
    "sqlalchemy.ext.asyncio.async_sessionmaker.begin": ASYNC_SESSION_BEGIN,
}

# What ``with x as y`` binds to ``y`` when ``x`` is of a library type (the type itself for
# most: ``Session.__enter__`` returns the session); `entered_type` adds every other type the
# catalogue lists methods of. A type neither lists binds something unknown, not itself.
ENTER_RESULTS: dict[str, str] = {
    **{
        name: name
        for name in (
            SESSION,
            ASYNC_SESSION,
            SQL_CONNECTION,
            ASYNC_CONNECTION,
            SESSION_TRANSACTION,
            "requests.Session",
            "httpx.Client",
            "httpx.AsyncClient",
            FILE,
            "sqlite3.Connection",
            "psycopg.Connection",
            "psycopg2.extensions.connection",
            "psycopg2.extensions.cursor",
            "pymysql.connections.Connection",
            "socket.socket",
            "subprocess.Popen",
            "smtplib.SMTP",
            "contextlib.AbstractContextManager",
            "contextlib.AbstractAsyncContextManager",
        )
    },
    SESSION_BEGIN: SESSION,
    ASYNC_SESSION_BEGIN: ASYNC_SESSION,
}

# Attributes with a known type; "*" keeps the type of the object (mongo client["db"]["c"]).
ATTRIBUTE_TYPES: dict[str, str] = {
    "fastapi.UploadFile.file": FILE,
    "fastapi.FastAPI.router": "fastapi.APIRouter",
    f"{MONGO_CLIENT}.*": MONGO_DATABASE,
    f"{MONGO_DATABASE}.*": MONGO_COLLECTION,
    f"{MONGO_COLLECTION}.*": MONGO_COLLECTION,
    f"{PATH}.parent": PATH,
    f"{BOTO_RESOURCE}.*": BOTO_RESOURCE,
}

# Types whose methods return the same type (a Path's ``with_suffix``, a resource's ``Bucket``).
STICKY_TYPES = frozenset({PATH, BOTO_RESOURCE, MONGO_DATABASE, MONGO_COLLECTION})

# A function under these decorators blocks once per process at most: not worth a thread.
MEMOIZERS = frozenset({"functools.lru_cache", "functools.cache", "cachetools.cached"})

# Using any of these needs the running event loop, or the caller's context (a ContextVar set
# in a worker thread is lost when the thread returns).
LOOP_MODULES = ("asyncio", "anyio", "trio", "sniffio", "contextvars")
# Reading a ContextVar works in the threadpool (FastAPI copies the context); setting does not.
# Exception classes (``except asyncio.TimeoutError``) and coroutine checks need no loop either:
# they matter now that loop use is followed into helpers.
HARMLESS_LOOP_NAMES = (
    "contextvars.ContextVar.get",
    "contextvars.Token.var",
    "asyncio.*Error",
    "asyncio.exceptions.*",
    "anyio.*Error",
    "trio.*Error",
    "asyncio.iscoroutine",
    "asyncio.iscoroutinefunction",
)


# Calls that only ask the file system about a name or create a folder: on a local disk they
# take microseconds, so a conversion resting on them alone is weak evidence (labelled so, and
# optional: async-to-sync's ``convert-metadata-only``).
FILESYSTEM_METADATA: tuple[str, ...] = (
    *_each(
        "os.path",
        "exists lexists isfile isdir islink ismount getsize getmtime getatime getctime "
        "samefile realpath",
    ),
    *_each("os", "makedirs mkdir stat lstat"),
    *_each(
        PATH,
        "exists is_file is_dir is_symlink is_mount mkdir stat lstat resolve samefile "
        "expanduser absolute owner group",
    ),
)


def is_filesystem_metadata(match: Match) -> bool:
    return match.qualified in FILESYSTEM_METADATA


def canonical_type(name: str) -> str:
    return TYPE_ALIASES.get(name, name)


def entered_type(type_name: str) -> str | None:
    """What ``with`` binds for a manager of type ``type_name`` (see `ENTER_RESULTS`)."""
    if type_name in ENTER_RESULTS:
        return ENTER_RESULTS[type_name]
    return type_name if type_name in _METHOD_TYPES else None


def needs_event_loop(qualified: str) -> bool:
    return qualified.partition(".")[0] in LOOP_MODULES and not _matcher(HARMLESS_LOOP_NAMES)(
        qualified
    )


@dataclass(frozen=True)
class Match:
    family: str
    advice: str
    qualified: str


class Catalogue:
    """The built-in families plus the user's ``blocking-calls`` patterns."""

    def __init__(self, extra_patterns: Iterable[str] = ()) -> None:
        self.extra = tuple(extra_patterns)
        # A project calls the same names over and over: decide each once.
        self._functions: dict[str, Match | None] = {}
        self._methods: dict[str, Match | None] = {}
        self._configured: dict[str, Match | None] = {}

    def function(self, qualified: str) -> Match | None:
        """A call of the function (or class) named ``qualified``."""
        if qualified not in self._functions:
            self._functions[qualified] = self._function(qualified)
        return self._functions[qualified]

    def _function(self, qualified: str) -> Match | None:
        for family in FAMILIES:
            if family.matches(qualified, family.functions):
                return Match(family.name, family.advice, qualified)
        return self.configured(qualified)

    def method(self, type_name: str, method: str) -> Match | None:
        """A call of ``method`` on a value of type ``type_name``."""
        qualified = f"{type_name}.{method}"
        if qualified not in self._methods:
            self._methods[qualified] = self._method(qualified)
        return self._methods[qualified]

    def _method(self, qualified: str) -> Match | None:
        for family in FAMILIES:
            if family.matches(qualified, family.methods):
                return Match(family.name, family.advice, qualified)
        return self.configured(qualified)

    def configured(self, qualified: str) -> Match | None:
        if qualified not in self._configured:
            matched = _matcher(self.extra)(qualified)
            self._configured[qualified] = (
                Match("blocking-calls setting", THREADPOOL_ADVICE, qualified) if matched else None
            )
        return self._configured[qualified]


# The types whose methods some family lists (``urllib3.PoolManager`` of ``urllib3.PoolManager.*``).
_METHOD_TYPES = frozenset(
    pattern.rpartition(".")[0] for family in FAMILIES for pattern in family.methods
)
