"""async-to-sync: await-less async routes and dependencies that block become ``def``.

Every case goes through the shared helper (LF, CRLF, BOM, compile, second run is a no-op).
``path`` is the file checked; ``context`` holds the other files of the in-memory project.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from fastapi_fix.codemods.async_to_sync import AsyncToSync
from fastapi_fix.engine.codemod import Settings, SourceFile
from fastapi_fix.engine.discover import discover
from fastapi_fix.engine.results import Status
from fastapi_fix.engine.runner import Runner
from tests.helpers import check_noop, check_transformed, run_project

CODEMOD = "async-to-sync"

# A small project the cases lean on: a sync session factory, crud functions, a service layer.
DB = """\
from typing import Annotated

from fastapi import Depends
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

engine = create_engine("sqlite://")
SessionLocal = sessionmaker(bind=engine)


def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


SessionDep = Annotated[Session, Depends(get_db)]
"""
CRUD = """\
from sqlalchemy.orm import Session

from app.models import User


def get_user(db: Session, user_id: int):
    return db.query(User).filter(User.id == user_id).first()


def count_users(db: Session) -> int:
    return len(list_users(db))


def list_users(db: Session):
    return db.query(User).all()
"""
SERVICES = """\
from sqlalchemy.orm import Session

from app import crud


class ContactUsService:
    def create(self, db: Session, data: dict):
        message = dict(data)
        db.add(message)
        db.commit()
        return message

    def summary(self, db: Session):
        return {"users": crud.count_users(db)}


contact_us_service = ContactUsService()
"""
API = """\
from fastapi import APIRouter

router = APIRouter(prefix="/api")
"""
PROJECT = {
    "app/__init__.py": "",
    "app/db.py": DB,
    "app/crud.py": CRUD,
    "app/services.py": SERVICES,
    "app/api.py": API,
    "app/models.py": "class User:\n    id = 0\n",
}


def _handler(imports: str, body: str, keyword: str) -> str:
    return (
        f"from fastapi import FastAPI, UploadFile\n{imports}\n\napp = FastAPI()\n\n\n"
        f'@app.get("/")\n{keyword} handler(upload: UploadFile = None):\n'
        + textwrap.indent(textwrap.dedent(body), "    ")
    )


# One await-less route per catalogue family: (imports, body, qualified name the catalogue matched).
FAMILIES = [
    pytest.param("import time", "time.sleep(1)\n", "time.sleep", id="time.sleep"),
    pytest.param(
        "from time import sleep as nap",
        "nap(1)\n",
        "time.sleep",
        id="time.sleep-aliased-from-import",
    ),
    pytest.param(
        "import requests as rq",
        "return rq.get('https://x').json()\n",
        "requests.get",
        id="requests-aliased-module",
    ),
    pytest.param(
        "import requests",
        "session = requests.Session()\nreturn session.post('https://x').json()\n",
        "requests.Session.post",
        id="requests-session",
    ),
    pytest.param(
        "import httpx",
        "with httpx.Client() as client:\n    return client.get('https://x').json()\n",
        "httpx.Client.get",
        id="httpx-client",
    ),
    pytest.param(
        "import httpx", "return httpx.get('https://x').json()\n", "httpx.get", id="httpx-function"
    ),
    pytest.param(
        "from urllib.request import urlopen",
        "return urlopen('https://x').read()\n",
        "urllib.request.urlopen",
        id="urlopen",
    ),
    pytest.param(
        "import urllib3",
        "pool = urllib3.PoolManager()\nreturn pool.request('GET', 'https://x').data\n",
        "urllib3.PoolManager.request",
        id="urllib3",
    ),
    pytest.param(
        "", "with open('stock.csv') as fh:\n    return fh.read()\n", "builtins.open", id="open"
    ),
    pytest.param("", "return upload.file.read()\n", "io.IOBase.read", id="upload-file-object"),
    pytest.param("import os", "return os.path.exists('covers')\n", "os.path.exists", id="os.path"),
    pytest.param(
        "from pathlib import Path",
        "return (Path('data') / 'x.txt').read_text()\n",
        "pathlib.Path.read_text",
        id="pathlib",
    ),
    pytest.param(
        "import subprocess",
        "return subprocess.run(['ls']).returncode\n",
        "subprocess.run",
        id="subprocess",
    ),
    pytest.param("import os", "return os.system('ls')\n", "os.system", id="os.system"),
    pytest.param("", "return input()\n", "builtins.input", id="input"),
    pytest.param(
        "import sqlite3",
        "cursor = sqlite3.connect('x.db').cursor()\nreturn cursor.fetchall()\n",
        "sqlite3.connect",
        id="sqlite3",
    ),
    pytest.param(
        "from app.db import conn",
        "return conn.execute('select 1').fetchall()\n",
        "sqlite3.Cursor.fetchall",
        id="sqlite3-module-connection",
    ),
    pytest.param(
        "import psycopg2\nconnection = psycopg2.connect('dbname=shop')",
        "cur = connection.cursor()\ncur.execute('select 1')\nreturn cur.fetchall()\n",
        "psycopg2.extensions.cursor.execute",
        id="psycopg2",
    ),
    pytest.param(
        "import pymysql",
        "with pymysql.connect(host='db') as conn:\n    return conn.ping()\n",
        "pymysql.connect",
        id="pymysql",
    ),
    pytest.param(
        "from pymongo import MongoClient\nclient = MongoClient()",
        "return client['shop'].users.find_one({'id': 1})\n",
        "pymongo.collection.Collection.find_one",
        id="pymongo",
    ),
    pytest.param(
        "import redis\ncache = redis.Redis()",
        "return cache.get('key')\n",
        "redis.Redis.get",
        id="redis",
    ),
    pytest.param(
        "import boto3\ns3 = boto3.client('s3')",
        "s3.upload_fileobj(upload.file, 'bucket', 'key')\n",
        "botocore.client.BaseClient.upload_fileobj",
        id="boto3",
    ),
    pytest.param(
        "import socket",
        "sock = socket.socket()\nsock.connect(('db', 5432))\n",
        "socket.socket.connect",
        id="socket",
    ),
    pytest.param(
        "import smtplib",
        "with smtplib.SMTP('mail') as smtp:\n    smtp.send_message(None)\n",
        "smtplib.SMTP",
        id="smtplib",
    ),
    pytest.param(
        "from ftplib import FTP",
        "return FTP('ftp.example').nlst()\n",
        "ftplib.FTP.nlst",
        id="ftplib",
    ),
    pytest.param(
        "import shutil",
        "with open('cover.png', 'wb') as out:\n    shutil.copyfileobj(upload.file, out)\n",
        "builtins.open",
        id="shutil-and-open",
    ),
    pytest.param("import shutil", "shutil.rmtree('tmp')\n", "shutil.rmtree", id="shutil"),
    pytest.param("import os", "os.remove('cover.png')\n", "os.remove", id="os.remove"),
    pytest.param("import os", "return os.listdir('covers')\n", "os.listdir", id="os.listdir"),
    pytest.param("import glob", "return glob.glob('*.csv')\n", "glob.glob", id="glob"),
    pytest.param("import json", "return json.load(upload.file)\n", "json.load", id="json.load"),
    pytest.param(
        "import pickle", "return pickle.load(upload.file)\n", "pickle.load", id="pickle.load"
    ),
    pytest.param(
        "import pandas as pd",
        "return pd.read_csv('sales.csv').to_dict()\n",
        "pandas.read_csv",
        id="pandas",
    ),
    pytest.param(
        "from app.db import engine",
        "with engine.connect() as conn:\n    return conn.execute('select 1').all()\n",
        "sqlalchemy.engine.Engine.connect",
        id="sqlalchemy-engine",
    ),
]


@pytest.mark.parametrize(("imports", "body", "qualified"), FAMILIES)
def test_each_catalogue_family_is_blocking(imports, body, qualified):
    context = {**PROJECT, "app/db.py": DB + "\nimport sqlite3\nconn = sqlite3.connect('x.db')\n"}
    before, after = _handler(imports, body, "async def"), _handler(imports, body, "def")
    assert check_transformed(CODEMOD, before, after, context=context) == []
    result = run_project(CODEMOD, {**_encoded(context), "app/main.py": before.encode()})[
        "app/main.py"
    ]
    (edit,) = result.edits
    def_line = before.splitlines().index("async def handler(upload: UploadFile = None):") + 1
    assert (edit.line, edit.end_line) == (def_line, def_line)
    assert f"({qualified})" in edit.description, edit.description


TRANSFORMED = [
    pytest.param(
        """\
        from fastapi import APIRouter, Depends
        from sqlalchemy.orm import Session

        from app.db import get_db
        from app.services import contact_us_service

        router = APIRouter()


        @router.post("/contact-us")
        async def contact_us(data: dict, db: Session = Depends(get_db)):
            return contact_us_service.create(db, data)
        """,
        """\
        from fastapi import APIRouter, Depends
        from sqlalchemy.orm import Session

        from app.db import get_db
        from app.services import contact_us_service

        router = APIRouter()


        @router.post("/contact-us")
        def contact_us(data: dict, db: Session = Depends(get_db)):
            return contact_us_service.create(db, data)
        """,
        {},
        id="service-layer-module-instance-across-modules",
    ),
    pytest.param(
        """\
        from fastapi import Depends, FastAPI

        from app import crud
        from app.db import get_db

        app = FastAPI()


        @app.get("/users/{user_id}")
        async def read_user(user_id: int, db=Depends(get_db)):
            return crud.get_user(db, user_id)
        """,
        """\
        from fastapi import Depends, FastAPI

        from app import crud
        from app.db import get_db

        app = FastAPI()


        @app.get("/users/{user_id}")
        def read_user(user_id: int, db=Depends(get_db)):
            return crud.get_user(db, user_id)
        """,
        {},
        id="crud-module-attribute-untyped-db-from-sync-generator",
    ),
    pytest.param(
        """\
        from fastapi import Depends, FastAPI

        from app.db import get_db

        app = FastAPI()


        @app.get("/users")
        async def list_users(db=Depends(get_db)):
            return db.execute("select * from users").all()
        """,
        """\
        from fastapi import Depends, FastAPI

        from app.db import get_db

        app = FastAPI()


        @app.get("/users")
        def list_users(db=Depends(get_db)):
            return db.execute("select * from users").all()
        """,
        {},
        id="session-from-sync-depends-generator",
    ),
    pytest.param(
        """\
        from fastapi import FastAPI
        from sqlalchemy.orm import Session

        app = FastAPI()


        @app.post("/users")
        async def create_user(user: dict, db: Session):
            db.add(user)
            db.commit()
            db.refresh(user)
            return user
        """,
        """\
        from fastapi import FastAPI
        from sqlalchemy.orm import Session

        app = FastAPI()


        @app.post("/users")
        def create_user(user: dict, db: Session):
            db.add(user)
            db.commit()
            db.refresh(user)
            return user
        """,
        {},
        id="typed-session-add-commit-refresh",
    ),
    pytest.param(
        """\
        from typing import Annotated

        from fastapi import Depends, FastAPI
        from sqlmodel import Session

        from app.db import get_db

        app = FastAPI()


        @app.get("/users/{user_id}")
        async def read_user(user_id: int, session: Annotated[Session, Depends(get_db)]):
            return session.get(dict, user_id)
        """,
        """\
        from typing import Annotated

        from fastapi import Depends, FastAPI
        from sqlmodel import Session

        from app.db import get_db

        app = FastAPI()


        @app.get("/users/{user_id}")
        def read_user(user_id: int, session: Annotated[Session, Depends(get_db)]):
            return session.get(dict, user_id)
        """,
        {},
        id="annotated-sqlmodel-session",
    ),
    pytest.param(
        """\
        from fastapi import FastAPI

        from app.db import SessionDep

        app = FastAPI()


        @app.delete("/users/{user_id}")
        async def delete_user(user_id: int, session: SessionDep):
            session.delete(session.get(dict, user_id))
        """,
        """\
        from fastapi import FastAPI

        from app.db import SessionDep

        app = FastAPI()


        @app.delete("/users/{user_id}")
        def delete_user(user_id: int, session: SessionDep):
            session.delete(session.get(dict, user_id))
        """,
        {},
        id="annotated-alias-imported",
    ),
    pytest.param(
        """\
        from fastapi import Depends, FastAPI

        app = FastAPI()


        async def get_settings_file():
            fh = open("settings.json")
            try:
                yield fh
            finally:
                fh.close()


        @app.get("/settings")
        async def settings(fh=Depends(get_settings_file)):
            return {"raw": fh.read()}
        """,
        """\
        from fastapi import Depends, FastAPI

        app = FastAPI()


        def get_settings_file():
            fh = open("settings.json")
            try:
                yield fh
            finally:
                fh.close()


        @app.get("/settings")
        def settings(fh=Depends(get_settings_file)):
            return {"raw": fh.read()}
        """,
        {},
        id="async-generator-dependency-becomes-sync-generator",
    ),
    pytest.param(
        """\
        import os

        from fastapi import Depends, FastAPI, Header, HTTPException

        app = FastAPI()


        async def verify_key(x_key: str = Header()):
            if not os.path.isfile(f"keys/{x_key}"):
                raise HTTPException(403)


        @app.get("/items", dependencies=[Depends(verify_key)])
        async def items():
            return []
        """,
        """\
        import os

        from fastapi import Depends, FastAPI, Header, HTTPException

        app = FastAPI()


        def verify_key(x_key: str = Header()):
            if not os.path.isfile(f"keys/{x_key}"):
                raise HTTPException(403)


        @app.get("/items", dependencies=[Depends(verify_key)])
        async def items():
            return []
        """,
        {},
        id="dependency-in-dependencies-list",
    ),
    pytest.param(
        """\
        from fastapi import Depends, FastAPI, Security

        from app import crud
        from app.db import SessionDep

        app = FastAPI()


        async def current_user(db: SessionDep, token: str = ""):
            return crud.get_user(db, int(token))


        @app.get("/me")
        async def me(user=Security(current_user, scopes=["me"])):
            return user
        """,
        """\
        from fastapi import Depends, FastAPI, Security

        from app import crud
        from app.db import SessionDep

        app = FastAPI()


        def current_user(db: SessionDep, token: str = ""):
            return crud.get_user(db, int(token))


        @app.get("/me")
        async def me(user=Security(current_user, scopes=["me"])):
            return user
        """,
        {},
        id="security-dependency",
    ),
    pytest.param(
        """\
        import time

        from fastapi import FastAPI

        app = FastAPI()


        async def ping():
            time.sleep(0.1)
            return "pong"


        app.add_api_route("/ping", ping, methods=["GET"])
        """,
        """\
        import time

        from fastapi import FastAPI

        app = FastAPI()


        def ping():
            time.sleep(0.1)
            return "pong"


        app.add_api_route("/ping", ping, methods=["GET"])
        """,
        {},
        id="add-api-route",
    ),
    pytest.param(
        """\
        import time

        from fastapi import FastAPI

        app = FastAPI()


        async def ping():
            time.sleep(0.1)
            return "pong"


        app.get("/ping", include_in_schema=False)(ping)
        """,
        """\
        import time

        from fastapi import FastAPI

        app = FastAPI()


        def ping():
            time.sleep(0.1)
            return "pong"


        app.get("/ping", include_in_schema=False)(ping)
        """,
        {},
        id="route-decorator-called-by-hand",
    ),
    pytest.param(
        """\
        from app import crud
        from app.api import router
        from app.db import SessionDep


        @router.get("/users/{user_id}")
        async def read_user(user_id: int, db: SessionDep):
            return crud.get_user(db, user_id)
        """,
        """\
        from app import crud
        from app.api import router
        from app.db import SessionDep


        @router.get("/users/{user_id}")
        def read_user(user_id: int, db: SessionDep):
            return crud.get_user(db, user_id)
        """,
        {},
        id="router-imported-from-another-module",
    ),
    pytest.param(
        """\
        import requests
        from fastapi import FastAPI

        app = FastAPI()


        @app.api_route("/proxy", methods=["GET", "POST"])
        async def proxy():
            return requests.get("https://example.com").text
        """,
        """\
        import requests
        from fastapi import FastAPI

        app = FastAPI()


        @app.api_route("/proxy", methods=["GET", "POST"])
        def proxy():
            return requests.get("https://example.com").text
        """,
        {},
        id="api-route",
    ),
    pytest.param(
        """\
        from fastapi import FastAPI
        from mylib.client import fetch

        app = FastAPI()


        @app.get("/weather")
        async def weather():
            return fetch("weather")
        """,
        """\
        from fastapi import FastAPI
        from mylib.client import fetch

        app = FastAPI()


        @app.get("/weather")
        def weather():
            return fetch("weather")
        """,
        {"options": {"blocking-calls": ["mylib.client.fetch"]}},
        id="user-configured-function",
    ),
    pytest.param(
        """\
        from fastapi import FastAPI
        from mylib import Client

        app = FastAPI()


        @app.get("/weather")
        async def weather(client: Client):
            return client.fetch("weather")
        """,
        """\
        from fastapi import FastAPI
        from mylib import Client

        app = FastAPI()


        @app.get("/weather")
        def weather(client: Client):
            return client.fetch("weather")
        """,
        {"options": {"blocking-calls": ["mylib.Client.*"]}},
        id="user-configured-method-pattern",
    ),
    pytest.param(
        """\
        import time

        from fastapi import FastAPI

        app = FastAPI()


        @app.get("/")
        async def handler():
            async def later():
                await something()

            time.sleep(1)
            return later
        """,
        """\
        import time

        from fastapi import FastAPI

        app = FastAPI()


        @app.get("/")
        def handler():
            async def later():
                await something()

            time.sleep(1)
            return later
        """,
        {},
        id="nested-async-def-with-await-is-not-its-own-body",
    ),
    pytest.param(
        """\
        import time

        from fastapi import FastAPI

        app = FastAPI()


        @app.get("/a")  # the old path
        @app.get("/b")
        async   def handler():  # keep me
            # and me
            time.sleep(1)  ;  return   1
        """,
        """\
        import time

        from fastapi import FastAPI

        app = FastAPI()


        @app.get("/a")  # the old path
        @app.get("/b")
        def handler():  # keep me
            # and me
            time.sleep(1)  ;  return   1
        """,
        {},
        id="only-the-keyword-changes",
    ),
    pytest.param(
        """\
        from fastapi import Depends, FastAPI
        from sqlalchemy.orm import Session

        from app.db import get_db
        from app.models import User

        app = FastAPI()


        class UserService:
            def __init__(self, db: Session):
                self.db = db

            def all(self):
                return self.db.query(User).all()


        @app.get("/users")
        async def users(db=Depends(get_db)):
            return UserService(db).all()
        """,
        """\
        from fastapi import Depends, FastAPI
        from sqlalchemy.orm import Session

        from app.db import get_db
        from app.models import User

        app = FastAPI()


        class UserService:
            def __init__(self, db: Session):
                self.db = db

            def all(self):
                return self.db.query(User).all()


        @app.get("/users")
        def users(db=Depends(get_db)):
            return UserService(db).all()
        """,
        {},
        id="service-object-holding-the-session",
    ),
    pytest.param(
        """\
        import shutil

        from fastapi import APIRouter


        class AuditedRouter(APIRouter):
            pass


        router = AuditedRouter()


        @router.post("/backup")
        async def backup():
            shutil.copy("app.db", "backup.db")
        """,
        """\
        import shutil

        from fastapi import APIRouter


        class AuditedRouter(APIRouter):
            pass


        router = AuditedRouter()


        @router.post("/backup")
        def backup():
            shutil.copy("app.db", "backup.db")
        """,
        {},
        id="project-subclass-of-apirouter",
    ),
    pytest.param(
        """\
        import os

        from fastapi import Depends, FastAPI

        app = FastAPI()


        class FeatureFlag:
            def __init__(self, name: str):
                self.name = name

            async def __call__(self) -> bool:
                return os.path.exists(f"flags/{self.name}")


        beta = FeatureFlag("beta")


        @app.get("/beta")
        async def beta_page(enabled: bool = Depends(beta)):
            return {"enabled": enabled}
        """,
        """\
        import os

        from fastapi import Depends, FastAPI

        app = FastAPI()


        class FeatureFlag:
            def __init__(self, name: str):
                self.name = name

            def __call__(self) -> bool:
                return os.path.exists(f"flags/{self.name}")


        beta = FeatureFlag("beta")


        @app.get("/beta")
        async def beta_page(enabled: bool = Depends(beta)):
            return {"enabled": enabled}
        """,
        {},
        id="callable-instance-dependency",
    ),
    pytest.param(
        """\
        import time

        from fastapi import FastAPI


        def create_app() -> FastAPI:
            app = FastAPI()

            @app.get("/slow")
            async def slow():
                time.sleep(1)

            return app
        """,
        """\
        import time

        from fastapi import FastAPI


        def create_app() -> FastAPI:
            app = FastAPI()

            @app.get("/slow")
            def slow():
                time.sleep(1)

            return app
        """,
        {},
        id="route-in-app-factory",
    ),
    pytest.param(
        """\
        import os

        from fastapi import FastAPI

        app = FastAPI()


        def walk(path: str, depth: int):
            if depth:
                walk(path, depth - 1)
            return os.scandir(path)


        def ping(n):
            return pong(n - 1) if n else 0


        def pong(n):
            return ping(n)


        @app.get("/tree")
        async def tree():
            ping(3)
            return walk(".", 3)
        """,
        """\
        import os

        from fastapi import FastAPI

        app = FastAPI()


        def walk(path: str, depth: int):
            if depth:
                walk(path, depth - 1)
            return os.scandir(path)


        def ping(n):
            return pong(n - 1) if n else 0


        def pong(n):
            return ping(n)


        @app.get("/tree")
        def tree():
            ping(3)
            return walk(".", 3)
        """,
        {},
        id="recursive-helpers",
    ),
    pytest.param(
        """\
        import httpx
        from fastapi import FastAPI

        app = FastAPI()


        class GitHub(httpx.Client):
            def repo(self, name: str):
                return self.get(f"/repos/{name}").json()


        github = GitHub(base_url="https://api.github.com")


        @app.get("/repos/{name}")
        async def repo(name: str):
            return github.repo(name)
        """,
        """\
        import httpx
        from fastapi import FastAPI

        app = FastAPI()


        class GitHub(httpx.Client):
            def repo(self, name: str):
                return self.get(f"/repos/{name}").json()


        github = GitHub(base_url="https://api.github.com")


        @app.get("/repos/{name}")
        def repo(name: str):
            return github.repo(name)
        """,
        {},
        id="method-inherited-from-a-library-client",
    ),
    pytest.param(
        """\
        from fastapi import Depends, FastAPI

        from app.db import get_db
        from app.repository import user_repository

        app = FastAPI()


        @app.get("/users")
        async def users(db=Depends(get_db)):
            return user_repository.all(db)
        """,
        """\
        from fastapi import Depends, FastAPI

        from app.db import get_db
        from app.repository import user_repository

        app = FastAPI()


        @app.get("/users")
        def users(db=Depends(get_db)):
            return user_repository.all(db)
        """,
        {
            "context": {
                "app/repository.py": """\
            class UserRepository:
                def all(self, db):
                    return db.query(dict).all()


            user_repository = UserRepository()
            """
            }
        },
        id="unannotated-session-parameter-typed-by-its-callers",
    ),
    pytest.param(
        """\
        from fastapi import Depends, FastAPI

        from crud.user import get_user
        from app.db import get_db

        app = FastAPI()


        @app.get("/users/{user_id}")
        async def read_user(user_id: int, db=Depends(get_db)):
            return get_user(db, user_id)
        """,
        """\
        from fastapi import Depends, FastAPI

        from crud.user import get_user
        from app.db import get_db

        app = FastAPI()


        @app.get("/users/{user_id}")
        def read_user(user_id: int, db=Depends(get_db)):
            return get_user(db, user_id)
        """,
        {"context": {"app/crud/user.py": CRUD}},
        id="module-imported-from-a-folder-without-package-name",
    ),
    pytest.param(
        """\
        import time

        from fastapi import APIRouter

        users_router = r = APIRouter(prefix="/users")


        @r.get("")
        async def list_users():
            time.sleep(1)
        """,
        """\
        import time

        from fastapi import APIRouter

        users_router = r = APIRouter(prefix="/users")


        @r.get("")
        def list_users():
            time.sleep(1)
        """,
        {},
        id="router-made-by-chained-assignment",
    ),
    pytest.param(
        """\
        import time

        from fastapi import APIRouter, FastAPI

        a, b = APIRouter(), APIRouter()


        @b.get("/b")
        async def in_b():
            time.sleep(1)


        def create_app():
            app, router = FastAPI(), APIRouter()

            @router.get("/c")
            async def in_c():
                time.sleep(1)

            return app
        """,
        """\
        import time

        from fastapi import APIRouter, FastAPI

        a, b = APIRouter(), APIRouter()


        @b.get("/b")
        def in_b():
            time.sleep(1)


        def create_app():
            app, router = FastAPI(), APIRouter()

            @router.get("/c")
            def in_c():
                time.sleep(1)

            return app
        """,
        {},
        id="routers-made-by-tuple-assignment",
    ),
    pytest.param(
        """\
        import time

        from fastapi import Depends, FastAPI

        app = FastAPI()


        async def current_user():
            time.sleep(1)


        @app.get("/me")
        def me(user=Depends(current_user)):
            return user
        """,
        """\
        import time

        from fastapi import Depends, FastAPI

        app = FastAPI()


        def current_user():
            time.sleep(1)


        @app.get("/me")
        def me(user=Depends(current_user)):
            return user
        """,
        {
            "context": {
                "tests/__init__.py": "",
                "tests/test_me.py": """\
            from app.main import app, current_user


            def fake_user():
                return {"id": 1}


            app.dependency_overrides[current_user] = fake_user
            app.dependency_overrides.pop(current_user)


            def test_me(client_app):
                client_app.dependency_overrides[current_user] = fake_user
            """,
            }
        },
        id="dependency-overrides-are-not-other-uses",
    ),
    pytest.param(
        """\
        from typing import AsyncGenerator

        from fastapi import Depends, FastAPI
        from sqlalchemy.orm import Session

        from app.db import SessionLocal

        app = FastAPI()


        async def get_db() -> AsyncGenerator[Session, None]:
            db = SessionLocal()
            try:
                yield db
                db.commit()
            finally:
                db.close()


        @app.get("/")
        def home(db: Session = Depends(get_db)):
            return {}
        """,
        """\
        from typing import Generator

        from fastapi import Depends, FastAPI
        from sqlalchemy.orm import Session

        from app.db import SessionLocal

        app = FastAPI()


        def get_db() -> Generator[Session, None, None]:
            db = SessionLocal()
            try:
                yield db
                db.commit()
            finally:
                db.close()


        @app.get("/")
        def home(db: Session = Depends(get_db)):
            return {}
        """,
        {},
        id="async-generator-annotation-becomes-generator",
    ),
    pytest.param(
        """\
        import collections.abc

        from fastapi import Depends, FastAPI
        from sqlalchemy.orm import Session

        from app.db import SessionLocal

        app = FastAPI()


        async def get_db() -> collections.abc.AsyncGenerator[Session]:
            db = SessionLocal()
            yield db
            db.commit()


        @app.get("/")
        def home(db: Session = Depends(get_db)):
            return {}
        """,
        """\
        import collections.abc

        from fastapi import Depends, FastAPI
        from sqlalchemy.orm import Session

        from app.db import SessionLocal

        app = FastAPI()


        def get_db() -> collections.abc.Generator[Session, None, None]:
            db = SessionLocal()
            yield db
            db.commit()


        @app.get("/")
        def home(db: Session = Depends(get_db)):
            return {}
        """,
        {},
        id="async-generator-one-argument-through-module-attribute",
    ),
    pytest.param(
        """\
        from collections.abc import AsyncIterable, AsyncIterator as AI

        from fastapi import Depends, FastAPI
        from sqlalchemy.orm import Session

        from app.db import SessionLocal

        app = FastAPI()


        async def get_db() -> AI[Session]:
            db = SessionLocal()
            yield db
            db.commit()


        async def get_tags() -> AsyncIterable[str]:
            yield "new"


        @app.get("/")
        def home(db: Session = Depends(get_db), tags=Depends(get_tags)):
            return {}
        """,
        """\
        from collections.abc import Iterator, AsyncIterable

        from fastapi import Depends, FastAPI
        from sqlalchemy.orm import Session

        from app.db import SessionLocal

        app = FastAPI()


        def get_db() -> Iterator[Session]:
            db = SessionLocal()
            yield db
            db.commit()


        async def get_tags() -> AsyncIterable[str]:
            yield "new"


        @app.get("/")
        def home(db: Session = Depends(get_db), tags=Depends(get_tags)):
            return {}
        """,
        {},
        id="async-iterator-aliased-import-and-one-still-used",
    ),
    pytest.param(
        """\
        from fastapi import FastAPI
        from sqlalchemy.orm import Session

        from app.db import SessionDep
        from app.models import User

        app = FastAPI()


        class UserRepository:
            def __init__(self, db: Session):
                self.db = db

            def get(self, user_id: int):
                return self.db.get(User, user_id)


        class Repositories:
            def __init__(self, db: Session):
                self.db = db

            @property
            def users(self) -> UserRepository:
                return UserRepository(self.db)

            @users.setter
            def users(self, value):
                raise AttributeError("read only")


        @app.get("/users/{user_id}")
        async def read_user(user_id: int, db: SessionDep):
            return Repositories(db).users.get(user_id)
        """,
        """\
        from fastapi import FastAPI
        from sqlalchemy.orm import Session

        from app.db import SessionDep
        from app.models import User

        app = FastAPI()


        class UserRepository:
            def __init__(self, db: Session):
                self.db = db

            def get(self, user_id: int):
                return self.db.get(User, user_id)


        class Repositories:
            def __init__(self, db: Session):
                self.db = db

            @property
            def users(self) -> UserRepository:
                return UserRepository(self.db)

            @users.setter
            def users(self, value):
                raise AttributeError("read only")


        @app.get("/users/{user_id}")
        def read_user(user_id: int, db: SessionDep):
            return Repositories(db).users.get(user_id)
        """,
        {},
        id="call-through-an-annotated-property",
    ),
    pytest.param(
        """\
        from functools import cached_property

        from fastapi import FastAPI

        from app.db import SessionDep
        from app.services import ContactUsService

        app = FastAPI()


        class Services:
            @cached_property
            def contact(self):
                return ContactUsService()


        services = Services()


        @app.post("/contact-us")
        async def contact_us(data: dict, db: SessionDep):
            return services.contact.create(db, data)
        """,
        """\
        from functools import cached_property

        from fastapi import FastAPI

        from app.db import SessionDep
        from app.services import ContactUsService

        app = FastAPI()


        class Services:
            @cached_property
            def contact(self):
                return ContactUsService()


        services = Services()


        @app.post("/contact-us")
        def contact_us(data: dict, db: SessionDep):
            return services.contact.create(db, data)
        """,
        {},
        id="call-through-a-cached-property-returning-a-project-class",
    ),
    pytest.param(
        """\
        from functools import cached_property

        from fastapi import FastAPI
        from sqlalchemy.orm import Session

        from app.db import SessionDep
        from app.models import User

        app = FastAPI()


        class UserRepository:
            def __init__(self, session: Session):
                self.session = session

            def get(self, user_id: int):
                return self.session.get(User, user_id)


        class AllRepositories:
            def __init__(self, session: Session):
                self.session = session

            @cached_property
            def users(self) -> UserRepository:
                return UserRepository(self.session)


        def get_repositories(session):
            return AllRepositories(session)


        @app.get("/users/{user_id}")
        async def read_user(user_id: int, db: SessionDep):
            repos = get_repositories(db)
            return repos.users.get(user_id)
        """,
        """\
        from functools import cached_property

        from fastapi import FastAPI
        from sqlalchemy.orm import Session

        from app.db import SessionDep
        from app.models import User

        app = FastAPI()


        class UserRepository:
            def __init__(self, session: Session):
                self.session = session

            def get(self, user_id: int):
                return self.session.get(User, user_id)


        class AllRepositories:
            def __init__(self, session: Session):
                self.session = session

            @cached_property
            def users(self) -> UserRepository:
                return UserRepository(self.session)


        def get_repositories(session):
            return AllRepositories(session)


        @app.get("/users/{user_id}")
        def read_user(user_id: int, db: SessionDep):
            repos = get_repositories(db)
            return repos.users.get(user_id)
        """,
        {},
        id="property-of-what-an-unannotated-factory-returns",
    ),
    pytest.param(
        """\
        import requests
        from fastapi import FastAPI, Request, Response

        app = FastAPI()


        @app.get("/proxy")
        async def proxy(request: Request, response: Response):
            session = requests.Session()
            session.headers["X-Trace"] = "1"
            request.state.proxied = True
            response.headers["X-Proxied"] = "yes"
            seen = {}
            seen["proxy"] = 1
            return session.get("https://example.com").json()
        """,
        """\
        import requests
        from fastapi import FastAPI, Request, Response

        app = FastAPI()


        @app.get("/proxy")
        def proxy(request: Request, response: Response):
            session = requests.Session()
            session.headers["X-Trace"] = "1"
            request.state.proxied = True
            response.headers["X-Proxied"] = "yes"
            seen = {}
            seen["proxy"] = 1
            return session.get("https://example.com").json()
        """,
        {},
        id="writes-to-per-request-objects-are-not-shared-state",
    ),
    pytest.param(
        """\
        from fastapi import BackgroundTasks, FastAPI
        from starlette.background import BackgroundTask
        from starlette.responses import JSONResponse

        from app.db import SessionLocal

        app = FastAPI()


        async def record_click(link_id: int):
            db = SessionLocal()
            db.execute("update links set clicks = clicks + 1")
            db.commit()


        async def audit(link_id: int):
            with open("audit.log", "a") as log:
                log.write(f"{link_id}\\n")


        @app.get("/l/{link_id}")
        def follow(link_id: int, background_tasks: BackgroundTasks):
            background_tasks.add_task(record_click, link_id)
            return JSONResponse({}, background=BackgroundTask(audit, link_id))
        """,
        """\
        from fastapi import BackgroundTasks, FastAPI
        from starlette.background import BackgroundTask
        from starlette.responses import JSONResponse

        from app.db import SessionLocal

        app = FastAPI()


        def record_click(link_id: int):
            db = SessionLocal()
            db.execute("update links set clicks = clicks + 1")
            db.commit()


        def audit(link_id: int):
            with open("audit.log", "a") as log:
                log.write(f"{link_id}\\n")


        @app.get("/l/{link_id}")
        def follow(link_id: int, background_tasks: BackgroundTasks):
            background_tasks.add_task(record_click, link_id)
            return JSONResponse({}, background=BackgroundTask(audit, link_id))
        """,
        {},
        id="background-tasks",
    ),
    pytest.param(
        """\
        import asyncio
        import time

        from fastapi import FastAPI

        app = FastAPI()


        def fire_and_forget(coro):
            asyncio.get_running_loop().create_task(coro)


        def pause():
            try:
                time.sleep(0.1)
            except asyncio.TimeoutError:
                pass


        @app.post("/jobs")
        async def run_job():
            pause()
        """,
        """\
        import asyncio
        import time

        from fastapi import FastAPI

        app = FastAPI()


        def fire_and_forget(coro):
            asyncio.get_running_loop().create_task(coro)


        def pause():
            try:
                time.sleep(0.1)
            except asyncio.TimeoutError:
                pass


        @app.post("/jobs")
        def run_job():
            pause()
        """,
        {},
        id="helper-needing-the-loop-not-called-and-one-catching-its-error",
    ),
]


@pytest.mark.parametrize(("before", "after", "kwargs"), TRANSFORMED)
def test_transformed(before, after, kwargs):
    context = {**PROJECT, **kwargs.pop("context", {})}
    findings = check_transformed(CODEMOD, before, after, context=context, **kwargs)
    assert findings == []


# Routes inside compound statements, between comments and blank lines: the rewrite walks
# only what can hold a function, and must still reach every one of them.
NESTED_ROUTES = """\
    import time

    from fastapi import APIRouter, FastAPI

    router = APIRouter()
    settings = {"debug": True}

    if settings["debug"]:

        @router.get("/debug")  # a comment
        async def debug_route():
            time.sleep(1)
            return {}

    else:
        async def other_route():
            time.sleep(1)

    try:
        @router.get("/in-try")
        async def in_try():
            time.sleep(1)
    except ImportError:
        async def in_except():
            time.sleep(1)
    finally:
        pass

    for prefix in ["/a"]:
        @router.get(prefix)
        async def in_loop():
            time.sleep(1)

    with open(__file__) as handle:
        @router.get("/in-with")
        async def in_with(q: int = 1) -> dict:
            time.sleep(1)
            return {}

    while False:
        async def in_while(): time.sleep(1)


    def factory():
        @router.get("/nested")
        async def nested():
            time.sleep(1)

        return nested


    class Views:
        @staticmethod
        async def method():
            time.sleep(1)
"""


def test_routes_inside_compound_statements() -> None:
    after = NESTED_ROUTES
    for head in ["debug_route():", "in_try():", "in_loop():", "in_with(q: int = 1) -> dict:"]:
        after = after.replace(f"async def {head}", f"def {head}")
    findings = check_transformed(CODEMOD, NESTED_ROUTES, after, context=PROJECT)
    # The route made inside factory() is only reported (its sleep, line 47): left async.
    assert [finding.line for finding in findings] == [47]


def test_edit_describes_the_chain_to_the_blocking_call():
    before = TRANSFORMED[0].values[0]
    result = run_project(
        CODEMOD, {**_encoded(PROJECT), "app/main.py": textwrap.dedent(before).encode()}
    )
    (edit,) = result["app/main.py"].edits
    assert edit.line == edit.end_line == 11
    assert edit.description == (
        "async def contact_us -> def: awaits nothing and `contact_us_service.create(...)` blocks "
        "(via app.services.ContactUsService.create → `db.commit` (sqlalchemy.orm.Session.commit) "
        "at app/services.py:10)"
    )


def _encoded(files: dict[str, str]) -> dict[str, bytes]:
    return {path: textwrap.dedent(code).encode() for path, code in files.items()}


# (source, expected findings as "line:col: start of message", extra context, options)
NOOP = [
    pytest.param(
        """\
        import asyncio
        import time

        from fastapi import FastAPI

        app = FastAPI()


        @app.get("/mixed")
        async def mixed():
            await asyncio.sleep(0)
            time.sleep(1)
        """,
        [
            "12:5: `time.sleep(...)` blocks (time.sleep) in async `mixed`; it also awaits, so it cannot become "
            "`def`: use `await asyncio.sleep(...)` or `await run_in_threadpool(time.sleep, ...)` "
            "(from fastapi.concurrency)"
        ],
        {},
        id="awaits-and-blocks",
    ),
    pytest.param(
        """\
        from fastapi import Depends, FastAPI

        from app import crud
        from app.db import get_db

        app = FastAPI()


        @app.get("/users/{user_id}")
        async def read_user(user_id: int, notify=None, db=Depends(get_db)):
            await notify()
            return {"user": crud.get_user(db, user_id), "count": crud.count_users(db)}
        """,
        [
            "12:21: `crud.get_user(...)` blocks (via app.crud.get_user → `db.query` "
            "(sqlalchemy.orm.Session.query) at app/crud.py:7) in async `read_user`; it also awaits, so it cannot "
            "become `def`: use `await run_in_threadpool(crud.get_user, ...)` (from fastapi.concurrency)",
            "12:58: `crud.count_users(...)` blocks (via app.crud.count_users → app.crud.list_users → `db.query` "
            "(sqlalchemy.orm.Session.query) at app/crud.py:15) in async `read_user`; it also awaits, so it "
            "cannot become `def`: use `await run_in_threadpool(crud.count_users, ...)` (from fastapi.concurrency)",
        ],
        {},
        id="awaits-and-blocks-through-crud",
    ),
    pytest.param(
        """\
        from fastapi import FastAPI

        app = FastAPI()


        @app.get("/health")
        async def health():
            return {"status": "ok"}
        """,
        [],
        {},
        id="trivial-route-blocks-nothing",
    ),
    pytest.param(
        """\
        from fastapi import FastAPI

        app = FastAPI()


        @app.get("/health")
        async def health():
            return {"status": "ok"}
        """,
        [
            "7:1: `health` stays async: no blocking call found (FastAPI runs an await-less `async def` on the "
            "event loop, which is right when nothing blocks)"
        ],
        {"options": {"report-non-blocking": True}},
        id="trivial-route-explained-on-request",
    ),
    pytest.param(
        """\
        import time

        from fastapi import FastAPI, WebSocket

        app = FastAPI()


        @app.websocket("/ws")
        async def ws(websocket: WebSocket):
            time.sleep(1)
        """,
        [
            "10:5: `time.sleep(...)` blocks (time.sleep) in async `ws`; not made `def` because it is a websocket "
            "handler: use `await asyncio.sleep(...)`"
        ],
        {},
        id="websocket-handler",
    ),
    pytest.param(
        """\
        from contextlib import asynccontextmanager

        from fastapi import FastAPI

        from app.db import engine


        @asynccontextmanager
        async def lifespan(app):
            engine.connect().close()
            yield


        app = FastAPI(lifespan=lifespan)
        """,
        [
            "10:5: `engine.connect(...)` blocks (sqlalchemy.engine.Engine.connect) in async `lifespan`; not made "
            "`def` because it is a lifespan or startup/shutdown handler; it is an @asynccontextmanager: use"
        ],
        {},
        id="lifespan-asynccontextmanager",
    ),
    pytest.param(
        """\
        import time

        from fastapi import FastAPI

        app = FastAPI()


        @app.get("/items/{item_id}")
        async def read_item(item_id: int):
            time.sleep(1)
            return {"id": item_id}
        """,
        [
            "10:5: `time.sleep(...)` blocks (time.sleep) in async `read_item`; not made `def` because it is "
            "awaited at tests/test_main.py:6: use"
        ],
        {
            "context": {
                "tests/__init__.py": "",
                "tests/test_main.py": """\
            import pytest
            from app.main import read_item

            @pytest.mark.anyio
            async def test_read_item():
                assert await read_item(1) == {"id": 1}
            """,
            }
        },
        id="awaited-in-tests",
    ),
    pytest.param(
        """\
        import asyncio
        import time

        from fastapi import FastAPI

        app = FastAPI()


        @app.post("/jobs")
        async def run_job():
            time.sleep(1)


        def start_in_background():
            return asyncio.create_task(run_job())
        """,
        [
            "11:5: `time.sleep(...)` blocks (time.sleep) in async `run_job`; not made `def` because it is called "
            "at app/main.py:15 and handed to `asyncio.create_task`: use"
        ],
        {},
        id="scheduled-with-create-task",
    ),
    pytest.param(
        """\
        import anyio
        import time

        from fastapi import FastAPI

        app = FastAPI()


        @app.post("/jobs")
        async def run_job():
            time.sleep(1)


        async def main():
            async with anyio.create_task_group() as tg:
                tg.start_soon(run_job)
        """,
        [
            "11:5: `time.sleep(...)` blocks (time.sleep) in async `run_job`; not made `def` because it is passed "
            "to `tg.start_soon` at app/main.py:16: use"
        ],
        {},
        id="passed-to-a-task-group",
    ),
    pytest.param(
        """\
        import asyncio
        import time

        from fastapi import FastAPI

        app = FastAPI()


        @app.get("/loop")
        async def loop_info():
            time.sleep(1)
            return id(asyncio.get_running_loop())
        """,
        [
            "11:5: `time.sleep(...)` blocks (time.sleep) in async `loop_info`; not made `def` because it uses "
            "`asyncio.get_running_loop` (line 12), which needs the event loop or the request's context: use"
        ],
        {},
        id="uses-asyncio",
    ),
    pytest.param(
        """\
        import time
        from contextvars import ContextVar

        from fastapi import FastAPI

        app = FastAPI()
        request_id: ContextVar[str] = ContextVar("request_id")


        @app.get("/trace")
        async def trace():
            request_id.set("abc")
            time.sleep(1)
        """,
        [
            "13:5: `time.sleep(...)` blocks (time.sleep) in async `trace`; not made `def` because it uses "
            "`contextvars.ContextVar.set` (line 12), which needs the event loop or the request's context: use"
        ],
        {},
        id="sets-a-contextvar",
    ),
    pytest.param(
        """\
        import time

        from fastapi import FastAPI
        from fastapi_cache.decorator import cache

        app = FastAPI()


        @app.get("/cached")
        @cache(expire=60)
        async def cached():
            time.sleep(1)
        """,
        [
            "12:5: `time.sleep(...)` blocks (time.sleep) in async `cached`; not made `def` because its decorator "
            "`@cache(expire=60)` may need a coroutine function (if it accepts a `def`, list it in "
            "`safe-decorators`): use"
        ],
        {},
        id="unknown-decorator",
    ),
    pytest.param(
        """\
        from fastapi import Depends, FastAPI

        app = FastAPI()


        class Repo:
            def query(self, text):
                return text.upper()


        def get_repo():
            return Repo()


        @app.get("/search")
        async def search(q: str, repo=Depends(get_repo), db=None):
            db.query(q)
            return repo.query(q)
        """,
        [],
        {},
        id="same-method-names-on-other-objects",
    ),
    pytest.param(
        """\
        from fastapi import Depends, FastAPI
        from sqlalchemy.ext.asyncio import AsyncSession

        app = FastAPI()


        @app.get("/users")
        async def users(db: AsyncSession):
            result = await db.execute("select 1")
            return result.all()
        """,
        [],
        {},
        id="async-session",
    ),
    pytest.param(
        """\
        from fastapi import FastAPI
        from redis.asyncio import Redis

        app = FastAPI()
        cache = Redis()


        @app.get("/cached")
        async def cached():
            return cache.get("key")
        """,
        [],
        {},
        id="redis-asyncio-is-not-sync-redis",
    ),
    pytest.param(
        """\
        from fastapi import FastAPI

        from app.timing import sleep

        app = FastAPI()


        @app.get("/")
        async def handler():
            requests = {"a": 1}
            sleep(1)
            return requests.get("a")
        """,
        [],
        {"context": {"app/timing.py": "async def sleep(seconds):\n    return seconds\n"}},
        id="names-that-only-look-blocking",
    ),
    pytest.param(
        """\
        import time


        async def helper():
            time.sleep(1)
        """,
        [],
        {},
        id="async-function-fastapi-does-not-call",
    ),
    pytest.param(
        """\
        import time

        from fastapi import FastAPI

        app = FastAPI()


        @app.get("/")
        async def handler():
            def never_called():
                time.sleep(1)

            return sorted([3, 1], key=lambda n: time.sleep(n))
        """,
        [],
        {},
        id="blocking-only-in-nested-function-or-lambda",
    ),
    pytest.param(
        """\
        from fastapi import Depends, FastAPI
        from fastapi.concurrency import run_in_threadpool

        from app import crud
        from app.db import get_db

        app = FastAPI()


        @app.get("/users/{user_id}")
        async def read_user(user_id: int, db=Depends(get_db)):
            return await run_in_threadpool(crud.get_user, db, user_id)
        """,
        [],
        {},
        id="already-in-the-threadpool",
    ),
    pytest.param(
        """\
        import time

        from fastapi import FastAPI

        app = FastAPI()


        @app.get("/")
        def handler():
            time.sleep(1)
        """,
        [],
        {},
        id="already-def",
    ),
    pytest.param(
        """\
        import time

        from fastapi import FastAPI

        app = FastAPI()


        @app.get("/stream")
        async def stream():
            time.sleep(1)
            yield b"data"
        """,
        [
            "10:5: `time.sleep(...)` blocks (time.sleep) in async `stream`; not made `def` because it is an async "
            "generator route: use"
        ],
        {},
        id="async-generator-route",
    ),
    pytest.param(
        """\
        import time

        from celery import Celery

        worker = Celery()


        @worker.task()
        async def job():
            time.sleep(1)
        """,
        [],
        {},
        id="decorator-of-something-that-is-not-a-router",
    ),
    pytest.param(
        """\
        import os

        from fastapi import Depends, FastAPI

        app = FastAPI()


        async def get_user(token: str = ""):
            return os.path.exists(token)


        async def get_admin(user=Depends(get_user)):
            return await get_user("admin")
        """,
        [
            "9:12: `os.path.exists(...)` blocks (os.path.exists) in async `get_user`; not made `def` because it "
            "is awaited at app/main.py:13: use"
        ],
        {},
        id="dependency-awaited-by-another-dependency",
    ),
    pytest.param(
        """\
        import time

        from fastapi import FastAPI

        app = FastAPI()


        @app.get("/")
        async def handler():
            time.sleep(1)


        coroutine = handler()
        """,
        [
            "10:5: `time.sleep(...)` blocks (time.sleep) in async `handler`; not made `def` because it is called "
            "at app/main.py:13, whose caller gets a coroutine: use"
        ],
        {},
        id="called-directly",
    ),
    pytest.param(
        """\
        import asyncio
        import time

        from fastapi import FastAPI

        app = FastAPI()


        @app.get("/")
        async def handler():
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, time.sleep, 1)
        """,
        [],
        {},
        id="blocking-function-passed-to-an-executor",
    ),
    pytest.param(
        """\
        from fastapi import Depends, FastAPI

        from app.db import get_db
        from app.repository import load_user

        app = FastAPI()


        @app.get("/users/{user_id}")
        async def read_user(user_id: int, db=Depends(get_db)):
            return await load_user(db, user_id)
        """,
        [
            "11:18: `await load_user(...)` blocks (via app.repository.load_user → `db.get` (sqlalchemy.orm.Session.get) "
            "at app/repository.py:5) in async `read_user`; it also awaits, so it cannot become `def`: use a sync "
            "`app.repository.load_user` (or its blocking part) called with `await run_in_threadpool(...)`"
        ],
        {
            "context": {
                "app/repository.py": """\
            from sqlalchemy.orm import Session


            async def load_user(db: Session, user_id: int):
                return db.get(dict, user_id)
            """
            }
        },
        id="awaits-a-project-coroutine-that-blocks",
    ),
    pytest.param(
        """\
        from functools import lru_cache
        from pathlib import Path

        from fastapi import FastAPI

        app = FastAPI()


        @lru_cache
        def load_settings():
            return Path("settings.toml").read_text()


        @app.get("/settings")
        async def settings():
            return load_settings()
        """,
        [],
        {},
        id="memoized-helper-blocks-once",
    ),
    pytest.param(
        """\
        import asyncio
        import time

        from fastapi import FastAPI

        app = FastAPI()


        def fire_and_forget(coro):
            asyncio.get_running_loop().create_task(coro)


        async def notify():
            pass


        @app.post("/r")
        async def r():
            time.sleep(0.01)
            fire_and_forget(notify())
        """,
        [
            "19:5: `time.sleep(...)` blocks (time.sleep) in async `r`; not made `def` because it calls "
            "`fire_and_forget(...)` (line 20), which needs the event loop or the request's context: "
            "app.main.fire_and_forget → `asyncio.get_running_loop` at app/main.py:10: use"
        ],
        {},
        id="loop-use-in-a-helper",
    ),
    pytest.param(
        """\
        import time

        from fastapi import FastAPI

        from app import tracing

        app = FastAPI()


        @app.get("/trace")
        async def trace():
            tracing.start("abc")
            time.sleep(1)
        """,
        [
            "13:5: `time.sleep(...)` blocks (time.sleep) in async `trace`; not made `def` because it calls "
            "`tracing.start(...)` (line 12), which needs the event loop or the request's context: "
            "app.tracing.start → app.tracing.tag → `contextvars.ContextVar.set` at app/tracing.py:7: use"
        ],
        {
            "context": {
                "app/tracing.py": """\
            from contextvars import ContextVar

            request_id: ContextVar[str] = ContextVar("request_id")


            def tag(value):
                request_id.set(value)


            def start(value):
                tag(value)
            """
            }
        },
        id="contextvar-set-two-helpers-deep",
    ),
    pytest.param(
        """\
        import time

        from fastapi import FastAPI

        app = FastAPI()


        @app.get("/slow")
        async def slow_route():
            time.sleep(1)


        HANDLERS = {"a": slow_route}


        async def dispatch(name):
            return await HANDLERS[name]()
        """,
        [
            "10:5: `time.sleep(...)` blocks (time.sleep) in async `slow_route`; not made `def` because it is used "
            "as a value at app/main.py:13 (`slow_route`), where it may be called and awaited: use"
        ],
        {},
        id="stored-in-a-dict-and-awaited",
    ),
    pytest.param(
        """\
        import time

        from fastapi import Depends, FastAPI

        from app.jobs import queue

        app = FastAPI()


        async def audit():
            time.sleep(1)


        @app.get("/", dependencies=[Depends(audit)])
        def home():
            queue.add_task(audit)
        """,
        [
            "11:5: `time.sleep(...)` blocks (time.sleep) in async `audit`; not made `def` because it is passed to "
            "`queue.add_task` at app/main.py:16: use"
        ],
        {
            "context": {
                "app/jobs.py": """\
            class Queue:
                def add_task(self, job):
                    pass


            queue = Queue()
            """
            }
        },
        id="handed-to-an-add-task-that-is-not-background-tasks",
    ),
    pytest.param(
        """\
        from typing import AsyncIterator

        from fastapi import Depends, FastAPI

        from app.db import SessionLocal

        app = FastAPI()


        async def get_db() -> "AsyncIterator[SessionLocal]":
            db = SessionLocal()
            yield db
            db.commit()


        @app.get("/")
        def home(db=Depends(get_db)):
            return {}
        """,
        [
            "13:5: `db.commit(...)` blocks (sqlalchemy.orm.Session.commit) in async `get_db`; not made `def` "
            "because its return annotation `'AsyncIterator[SessionLocal]'` is not one it can make sync"
        ],
        {},
        id="async-generator-annotation-in-quotes",
    ),
    pytest.param(
        """\
        from typing import AsyncGenerator

        from fastapi import Depends, FastAPI
        from sqlalchemy.orm import Session

        from app.db import SessionLocal

        app = FastAPI()


        class Generator:
            pass


        async def get_db() -> AsyncGenerator[Session, None]:
            db = SessionLocal()
            yield db
            db.commit()


        @app.get("/")
        def home(db=Depends(get_db)):
            return {}
        """,
        [
            "18:5: `db.commit(...)` blocks (sqlalchemy.orm.Session.commit) in async `get_db`; not made `def` "
            "because `Generator` already names something else where `get_db` is defined"
        ],
        {},
        id="async-generator-sync-name-taken",
    ),
    pytest.param(
        """\
        from fastapi import FastAPI

        app = FastAPI()


        @app.get("/items/{item_id}")
        async def read_item(item_id: int, repo=None):
            return {"item": repo.find(item_id), "count": len([])}
        """,
        [
            "7:1: `read_item` stays async: no blocking call found, but these calls could not be followed: "
            "`repo.find(...)` (line 8); if one blocks, it stalls the event loop"
        ],
        {"options": {"report-non-blocking": True}},
        id="non-blocking-names-the-calls-it-could-not-follow",
    ),
    pytest.param(
        """\
        import requests
        from fastapi import FastAPI

        from app.clients import client

        app = FastAPI()


        @app.post("/act")
        async def act(token: str):
            client.token = token
            return requests.get("https://example.com", headers={"t": client.token}).json()
        """,
        [
            "12:12: `requests.get(...)` blocks (requests.get) in async `act`; not made `def` because it assigns "
            "`client.token` (line 11), state every request shares: on the event loop no other request runs while "
            "it does (it awaits nothing); in the threadpool they would interleave: use"
        ],
        {"context": {"app/clients.py": "class Client:\n    token = ''\n\n\nclient = Client()\n"}},
        id="assigns-an-attribute-of-a-module-level-object",
    ),
    pytest.param(
        """\
        import requests
        from fastapi import FastAPI

        from app.clients import client

        app = FastAPI()


        def configure(organisation: str):
            client.token = f"token-of-{organisation}"
            return client


        @app.post("/{organisation}/act")
        async def act(organisation: str):
            configured = configure(organisation)
            return requests.get("https://example.com", headers={"t": configured.token}).json()
        """,
        [
            "17:12: `requests.get(...)` blocks (requests.get) in async `act`; not made `def` because it calls "
            "`configure(...)` (line 16), which assigns state every request shares: on the event loop no other "
            "request runs while it does (it awaits nothing); in the threadpool they would interleave: "
            "app.main.configure → `client.token` at app/main.py:10: use"
        ],
        {"context": {"app/clients.py": "class Client:\n    token = ''\n\n\nclient = Client()\n"}},
        id="a-helper-assigns-an-attribute-of-a-module-level-object",
    ),
    pytest.param(
        """\
        import requests
        from fastapi import FastAPI

        app = FastAPI()
        calls = 0
        cache = {}


        @app.post("/count")
        async def count():
            global calls
            calls += 1
            cache["last"] = requests.get("https://example.com").text
        """,
        [
            "13:21: `requests.get(...)` blocks (requests.get) in async `count`; not made `def` because it assigns "
            "`calls` (line 12), `cache['last']` (line 13), state every request shares"
        ],
        {},
        id="assigns-a-global-and-an-item-of-a-module-level-dict",
    ),
    pytest.param(
        """\
        import os

        from fastapi import Depends, FastAPI

        app = FastAPI()


        class FeatureFlag:
            def __init__(self, name: str):
                self.name = name

            async def __call__(self) -> bool:
                self.checked = True
                return os.path.exists(f"flags/{self.name}")


        beta = FeatureFlag("beta")


        @app.get("/beta")
        async def beta_page(enabled: bool = Depends(beta)):
            return {"enabled": enabled}
        """,
        [
            "14:16: `os.path.exists(...)` blocks (os.path.exists) in async `__call__`; not made `def` because it "
            "assigns `self.checked` (line 13), state every request shares"
        ],
        {},
        id="callable-dependency-assigns-to-its-shared-instance",
    ),
    pytest.param(
        """\
        import asyncio
        import time

        from fastapi import BackgroundTasks, FastAPI

        app = FastAPI()


        async def record_click(link_id: int):
            time.sleep(0.1)
            await asyncio.sleep(0)


        @app.get("/l/{link_id}")
        def follow(link_id: int, background_tasks: BackgroundTasks):
            background_tasks.add_task(record_click, link_id)
        """,
        [
            "10:5: `time.sleep(...)` blocks (time.sleep) in async `record_click`; it also awaits, so it cannot "
            "become `def`: use"
        ],
        {},
        id="background-task-that-awaits-and-blocks",
    ),
]


@pytest.mark.parametrize(("source", "expected", "kwargs"), NOOP)
def test_noop(source, expected, kwargs):
    context = {**PROJECT, **kwargs.pop("context", {})}
    findings = check_noop(CODEMOD, source, context=context, **kwargs)
    rendered = [f"{f.line}:{f.column}: {f.message}" for f in findings]
    assert len(rendered) == len(expected), rendered
    for got, want in zip(rendered, expected, strict=True):
        assert got.startswith(want), got
    assert all(f.codemod == CODEMOD and f.path == "app/main.py" for f in findings)


def test_findings_are_in_characters_not_bytes():
    source = """\
        import time

        from fastapi import FastAPI

        app = FastAPI()


        @app.get("/")
        async def handler(x=None):
            await x; café = "é"; time.sleep(1)
        """
    (finding,) = check_noop(CODEMOD, source)
    assert (finding.line, finding.column) == (10, 26)  # 28 in bytes


def _write(root: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


ROUTE = b"""\
import time

from fastapi import FastAPI

app = FastAPI()


@app.get("/")
async def slow_route():
    time.sleep(1)
"""
# Python 3.12 syntax (PEP 701 quotes in f-strings) that the running Python's ast rejects
# and that the engine cannot spell for it (it can for PEP 758 and PEP 695).
NEWER_SYNTAX = b'names = {}\ngreeting = f"{names["ada"]}"\n'


@pytest.mark.parametrize(
    ("newer_file", "converted"),
    [
        pytest.param(
            NEWER_SYNTAX + b"from app.main import slow_route\n", False, id="name-mentioned"
        ),
        pytest.param(NEWER_SYNTAX, True, id="name-not-mentioned"),
    ],
)
@pytest.mark.skipif(sys.version_info >= (3, 12), reason="this Python parses PEP 701 f-strings")
def test_unparsed_files_are_treated_conservatively(tmp_path, newer_file, converted):
    _write(tmp_path, {"app/__init__.py": b"", "app/main.py": ROUTE, "app/newer.py": newer_file})
    found = discover([tmp_path], cwd=tmp_path)
    results = {
        r.display_path: r for r in Runner([AsyncToSync(Settings())], jobs=1).run(found.files)
    }
    main = results["app/main.py"]
    if converted:
        assert main.status is Status.CHANGED and b"\ndef slow_route" in main.new
        assert main.findings == []
    else:
        assert main.status is Status.UNCHANGED
        (finding,) = main.findings
        assert "its name appears in app/newer.py, which this Python cannot parse" in finding.message


# Two services side by side, each run from its own folder (no __init__.py): both have a
# main.py and a database.py, which the engine names users_service.main, orders_service.main...
# `from database import get_db` means the file's own folder. Only the users' get_db yields a
# Session, so mixing the two files up would convert list_orders or miss list_users.
SERVICES_DATABASES = {
    "users_service/database.py": """\
        from sqlalchemy import create_engine
        from sqlalchemy.orm import sessionmaker

        SessionLocal = sessionmaker(bind=create_engine("sqlite://"))


        def get_db():
            db = SessionLocal()
            try:
                yield db
            finally:
                db.close()
        """,
    "orders_service/database.py": """\
        def get_db():
            yield {"orders": []}
        """,
}
USERS_SERVICE = """\
    import asyncio
    import time

    from fastapi import Depends, FastAPI

    from database import get_db

    app = FastAPI()


    @app.get("/users")
    async def list_users(db=Depends(get_db)):
        return db.execute("select * from users").all()


    @app.get("/ping")
    async def ping():
        await asyncio.sleep(0)
        time.sleep(1)
    """
ORDERS_SERVICE = """\
    import asyncio
    import time

    from fastapi import Depends, FastAPI

    from database import get_db

    app = FastAPI()


    @app.get("/orders")
    async def list_orders(db=Depends(get_db)):
        return db.execute("select * from orders")


    @app.get("/slow")
    async def slow():
        time.sleep(1)


    @app.get("/pong")
    async def pong():
        time.sleep(1)
        await asyncio.sleep(0)
    """
SERVICES = {
    "users_service/main.py": USERS_SERVICE,
    "orders_service/main.py": ORDERS_SERVICE,
    **SERVICES_DATABASES,
}
# path -> (functions made def, the line and function of its one finding)
SERVICES_EXPECTED = {
    "users_service/main.py": ({"list_users"}, (19, "ping")),
    "orders_service/main.py": ({"slow"}, (23, "pong")),
}


def _made_def(before: str, after: str) -> set[str]:
    return {
        line.split("(")[0][len("async def ") :]
        for line in before.splitlines()
        if line.startswith("async def ") and line[len("async ") :] in after.splitlines()
    }


@pytest.mark.parametrize("path", list(SERVICES_EXPECTED))
def test_services_with_the_same_module_names_each_use_their_own_files(path):
    before = textwrap.dedent(SERVICES[path])
    after = before
    for name in SERVICES_EXPECTED[path][0]:
        after = after.replace(f"async def {name}(", f"def {name}(")
    context = {p: code for p, code in SERVICES.items() if p != path}
    (finding,) = check_transformed(CODEMOD, before, after, path=path, context=context)
    line, function = SERVICES_EXPECTED[path][1]
    assert (finding.path, finding.line) == (path, line)
    assert f"in async `{function}`; it also awaits" in finding.message


def test_services_with_the_same_module_names_through_discovery(tmp_path):
    """The same project as the engine sees it: module names come from discovery."""
    _write(tmp_path, {p: textwrap.dedent(code).encode() for p, code in SERVICES.items()})
    found = discover([tmp_path], cwd=tmp_path)
    assert {f.display_path: f.module_name for f in found.files}[
        "users_service/main.py"
    ] == "users_service.main"
    results = {
        r.display_path: r for r in Runner([AsyncToSync(Settings())], jobs=1).run(found.files)
    }
    for path, (converted, (line, function)) in SERVICES_EXPECTED.items():
        result = results[path]
        before = textwrap.dedent(SERVICES[path])
        assert _made_def(before, result.new.decode()) == converted, path
        assert [(f.path, f.line) for f in result.findings] == [(path, line)]
        assert f"`{function}`" in result.findings[0].message


def test_files_that_still_share_a_module_name_are_not_converted():
    """Should two files reach the codemod under one module name, their functions cannot be
    told apart: none is converted and the reason is reported."""
    source = textwrap.dedent(ROUTE.decode()).encode()
    files = {
        SourceFile(Path(f"/project/{folder}/main.py"), f"{folder}/main.py", "main"): source
        for folder in ("users", "orders")
    }
    results = list(Runner([AsyncToSync(Settings())], jobs=1).run(list(files), sources=files))
    assert all(r.status is Status.UNCHANGED for r in results)
    messages = [f.message for r in results for f in r.findings]
    assert messages and all(
        "another file of the project is also module `main`" in m for m in messages
    )


# -- evidence strength: file-system metadata calls only ----------------------------------------

METADATA_ONLY = """\
import os

from fastapi import APIRouter

router = APIRouter()


@router.post("/uploads")
async def make_upload_folder(name: str):
    os.makedirs(f"/srv/uploads/{name}", exist_ok=True)
    return {"ok": os.path.isfile(name)}
"""
METADATA_AND_READ = """\
import os

from fastapi import APIRouter

router = APIRouter()


@router.get("/files/{name}")
async def read_file(name: str):
    if not os.path.exists(name):
        return None
    with open(name) as handle:
        return handle.read()
"""


def test_conversion_resting_on_metadata_calls_only_is_labelled():
    result = run_project(CODEMOD, {"app/main.py": METADATA_ONLY.encode()})["app/main.py"]
    assert result.status is Status.CHANGED
    (edit,) = result.edits
    assert edit.description.endswith("(evidence: file-system metadata calls only)")


def test_conversion_with_a_real_blocking_call_is_not_labelled():
    result = run_project(CODEMOD, {"app/main.py": METADATA_AND_READ.encode()})["app/main.py"]
    assert result.status is Status.CHANGED
    (edit,) = result.edits
    assert "metadata" not in edit.description


def test_metadata_only_conversions_can_be_turned_off():
    options = {"convert-metadata-only": False}
    check_noop(CODEMOD, METADATA_ONLY, options=options)
    # ...while a function with a real blocking call is still converted
    changed = run_project(CODEMOD, {"app/main.py": METADATA_AND_READ.encode()}, options=options)
    assert changed["app/main.py"].status is Status.CHANGED


def test_metadata_only_through_a_project_function():
    helpers = "import pathlib\n\n\ndef ensure(path):\n    pathlib.Path(path).mkdir(exist_ok=True)\n"
    main = METADATA_ONLY.replace(
        '    os.makedirs(f"/srv/uploads/{name}", exist_ok=True)\n    return {"ok": os.path.isfile(name)}',
        "    ensure(name)\n    return {}",
    ).replace("import os\n", "from app.helpers import ensure\n")
    files = {"app/main.py": main.encode(), "app/helpers.py": helpers.encode()}
    (edit,) = run_project(CODEMOD, files)["app/main.py"].edits
    assert "metadata calls only" in edit.description
    off = run_project(CODEMOD, files, options={"convert-metadata-only": False})
    assert off["app/main.py"].status is Status.UNCHANGED


# -- findings: a kind, a one-line summary, the whole text -----------------------------------------


def test_a_blocking_call_in_an_awaiting_route_has_a_short_line_and_the_whole_text():
    source = (
        "from fastapi import APIRouter\n\nfrom app import crud\nfrom app.db import SessionDep\n\n"
        "router = APIRouter()\n\n\n"
        '@router.get("/users/{user_id}")\n'
        "async def read_user(user_id: int, db: SessionDep):\n"
        "    await audit(user_id)\n"
        "    return crud.get_user(db, user_id)\n\n\n"
        "async def audit(user_id: int) -> None:\n    pass\n"
    )
    files = {**_encoded({"app/db.py": DB, "app/crud.py": CRUD}), "app/main.py": source.encode()}
    (finding,) = run_project(CODEMOD, files)["app/main.py"].findings
    assert finding.kind == "blocking-to-threadpool"
    assert finding.summary == (
        "`crud.get_user(...)` blocks; `read_user` also awaits → see blocking-to-threadpool"
    )
    assert "cannot become `def`" in finding.detail
    # the message keeps the whole evidence chain and the advice
    assert "app.crud.get_user → `db.query` (sqlalchemy.orm.Session.query)" in finding.message
    assert "run_in_threadpool" in finding.message
    assert len(finding.one_line()) <= 160
