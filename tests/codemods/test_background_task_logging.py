"""background-task-logging: task definitions get try/except + logger.exception naming the task.

Every case goes through the shared helper (LF, CRLF, BOM, compile, second run is a no-op).
``path`` is the file checked; ``context`` holds the other files of the in-memory project.
"""

from __future__ import annotations

import ast
import sys
import textwrap
from pathlib import Path

import pytest

from fastapi_fix import codemods
from fastapi_fix.engine.codemod import Settings, SourceFile, Wanted
from fastapi_fix.engine.results import Status
from fastapi_fix.engine.runner import Runner
from tests.helpers import (
    PROJECT,
    check_noop,
    check_transformed,
    in_memory_file,
    run_project,
)

NEEDS_PYTHON_BELOW_312 = pytest.mark.skipif(
    sys.version_info >= (3, 12), reason="this Python parses PEP 701"
)
CODEMOD = "background-task-logging"

ROUTE_CALLING_TASKS = """\
from fastapi import BackgroundTasks, FastAPI
from app import tasks

app = FastAPI()


@app.post("/signup")
def signup(background_tasks: BackgroundTasks):
    background_tasks.add_task(tasks.send_email, "ada@example.com")
"""

# (before, after, extra keyword arguments for the helper)
TRANSFORMED = [
    pytest.param(
        """\
        from fastapi import BackgroundTasks, FastAPI

        app = FastAPI()


        def write_log(message: str) -> None:
            with open("log.txt", "a") as fh:
                fh.write(message)


        @app.post("/items")
        def create(background_tasks: BackgroundTasks):
            background_tasks.add_task(write_log, "created")
        """,
        """\
        import logging

        from fastapi import BackgroundTasks, FastAPI

        logger = logging.getLogger(__name__)

        app = FastAPI()


        def write_log(message: str) -> None:
            try:
                with open("log.txt", "a") as fh:
                    fh.write(message)
            except Exception:
                logger.exception("Background task %s failed", "app.main.write_log")


        @app.post("/items")
        def create(background_tasks: BackgroundTasks):
            background_tasks.add_task(write_log, "created")
        """,
        {},
        id="sync-task-same-module-no-logger",
    ),
    pytest.param(
        """\
        import logging

        from fastapi import BackgroundTasks

        logger = logging.getLogger(__name__)


        async def notify(order_id: int) -> None:
            \"\"\"Tell the warehouse.

            Long docstring.
            \"\"\"

            # the queue is slow
            await queue.put(order_id)
            logger.info("queued %s", order_id)


        async def place(background_tasks: BackgroundTasks):
            background_tasks.add_task(notify, 1)
        """,
        """\
        import logging

        from fastapi import BackgroundTasks

        logger = logging.getLogger(__name__)


        async def notify(order_id: int) -> None:
            \"\"\"Tell the warehouse.

            Long docstring.
            \"\"\"

            try:
                # the queue is slow
                await queue.put(order_id)
                logger.info("queued %s", order_id)
            except Exception:
                logger.exception("Background task %s failed", "app.main.notify")


        async def place(background_tasks: BackgroundTasks):
            background_tasks.add_task(notify, 1)
        """,
        {},
        id="async-task-docstring-first-existing-logger",
    ),
    pytest.param(
        """\
        import logging
        from fastapi import BackgroundTasks

        log = logging.getLogger("app")


        def job():
            run()


        def route(tasks: BackgroundTasks):
            tasks.add_task(job)
        """,
        """\
        import logging
        from fastapi import BackgroundTasks

        log = logging.getLogger("app")


        def job():
            try:
                run()
            except Exception:
                log.exception("Background task %s failed", "app.main.job")


        def route(tasks: BackgroundTasks):
            tasks.add_task(job)
        """,
        {},
        id="reuses-log",
    ),
    pytest.param(
        """\
        import logging as lg
        from fastapi import BackgroundTasks

        LOGGER: lg.Logger = lg.getLogger(__name__)


        def job():
            run()


        def route(tasks: BackgroundTasks):
            tasks.add_task(job)
        """,
        """\
        import logging as lg
        from fastapi import BackgroundTasks

        LOGGER: lg.Logger = lg.getLogger(__name__)


        def job():
            try:
                run()
            except Exception:
                LOGGER.exception("Background task %s failed", "app.main.job")


        def route(tasks: BackgroundTasks):
            tasks.add_task(job)
        """,
        {},
        id="reuses-annotated-LOGGER-of-aliased-logging",
    ),
    pytest.param(
        """\
        from logging import getLogger
        from fastapi import BackgroundTasks

        _log = getLogger(__name__)
        logger = getLogger("audit")


        def job():
            run()


        def route(tasks: BackgroundTasks):
            tasks.add_task(job)
        """,
        """\
        from logging import getLogger
        from fastapi import BackgroundTasks

        _log = getLogger(__name__)
        logger = getLogger("audit")


        def job():
            try:
                run()
            except Exception:
                _log.exception("Background task %s failed", "app.main.job")


        def route(tasks: BackgroundTasks):
            tasks.add_task(job)
        """,
        {"options": {"logger-name": "_log"}},
        id="configured-logger-name-wins",
    ),
    pytest.param(
        """\
        from logging import getLogger
        import logging

        from fastapi import BackgroundTasks

        log = logging.getLogger(__name__)


        def job():
            run()


        def route(tasks: BackgroundTasks):
            tasks.add_task(job)
        """,
        """\
        from logging import getLogger
        import logging

        from fastapi import BackgroundTasks

        log = logging.getLogger(__name__)


        def job():
            try:
                run()
            except Exception:
                log.exception("Background task %s failed", "app.main.job")


        def route(tasks: BackgroundTasks):
            tasks.add_task(job)
        """,
        {},
        id="logger-found-whichever-getLogger-spelling",
    ),
    pytest.param(
        """\
        from loguru import logger
        from fastapi import BackgroundTasks


        def job():
            logger.info("working")


        def route(tasks: BackgroundTasks):
            tasks.add_task(job)
        """,
        """\
        import logging

        from loguru import logger
        from fastapi import BackgroundTasks

        task_logger = logging.getLogger(__name__)


        def job():
            try:
                logger.info("working")
            except Exception:
                task_logger.exception("Background task %s failed", "app.main.job")


        def route(tasks: BackgroundTasks):
            tasks.add_task(job)
        """,
        {},
        id="logger-taken-by-something-else-is-not-clobbered",
    ),
    pytest.param(
        """\
        import logging
        from fastapi import BackgroundTasks

        logger = logging.getLogger(__name__)


        def job(logger):
            logger.send()


        def route(tasks: BackgroundTasks):
            tasks.add_task(job, "x")
        """,
        """\
        import logging
        from fastapi import BackgroundTasks

        task_logger = logging.getLogger(__name__)

        logger = logging.getLogger(__name__)


        def job(logger):
            try:
                logger.send()
            except Exception:
                task_logger.exception("Background task %s failed", "app.main.job")


        def route(tasks: BackgroundTasks):
            tasks.add_task(job, "x")
        """,
        {},
        id="module-logger-shadowed-by-a-parameter",
    ),
    pytest.param(
        """\
        \"\"\"Tasks.\"\"\"
        from __future__ import annotations

        from fastapi import BackgroundTasks


        def job():
            run()


        def route(tasks: BackgroundTasks):
            tasks.add_task(job)
        """,
        """\
        \"\"\"Tasks.\"\"\"
        from __future__ import annotations

        import logging

        from fastapi import BackgroundTasks

        logger = logging.getLogger(__name__)


        def job():
            try:
                run()
            except Exception:
                logger.exception("Background task %s failed", "app.main.job")


        def route(tasks: BackgroundTasks):
            tasks.add_task(job)
        """,
        {},
        id="future-import-stays-first",
    ),
    pytest.param(
        """\
        import json
        import os
        from pathlib import Path

        from fastapi import BackgroundTasks


        def job():
            os.remove(Path(json.loads("1")))


        def route(tasks: BackgroundTasks):
            tasks.add_task(job)
        """,
        """\
        import json
        import logging
        import os
        from pathlib import Path

        from fastapi import BackgroundTasks

        logger = logging.getLogger(__name__)


        def job():
            try:
                os.remove(Path(json.loads("1")))
            except Exception:
                logger.exception("Background task %s failed", "app.main.job")


        def route(tasks: BackgroundTasks):
            tasks.add_task(job)
        """,
        {},
        id="import-logging-sorted-into-stdlib-imports",
    ),
    pytest.param(
        """\
        \"\"\"Jobs run after a response.\"\"\"


        def send_email(to: str) -> None:
            mailer.send(to)
        """,
        """\
        \"\"\"Jobs run after a response.\"\"\"

        import logging

        logger = logging.getLogger(__name__)


        def send_email(to: str) -> None:
            try:
                mailer.send(to)
            except Exception:
                logger.exception("Background task %s failed", "app.tasks.send_email")
        """,
        {"path": "app/tasks.py", "context": {"app/main.py": ROUTE_CALLING_TASKS}},
        id="module-fn-from-another-file-without-imports",
    ),
    pytest.param(
        """\
        import logging

        logger = logging.getLogger(__name__)


        def send_email(to):
            mailer.send(to)
        """,
        """\
        import logging

        logger = logging.getLogger(__name__)


        def send_email(to):
            try:
                mailer.send(to)
            except Exception:
                logger.exception("Background task %s failed", "app.tasks.send_email")
        """,
        {
            "path": "app/tasks.py",
            "context": {
                "app/api/users.py": """\
            from fastapi import BackgroundTasks
            from ..tasks import send_email

            def signup(background_tasks: BackgroundTasks):
                background_tasks.add_task(send_email, "ada@example.com")
            """
            },
        },
        id="relative-import",
    ),
    pytest.param(
        """\
        def send_email(to):
            mailer.send(to)
        """,
        """\
        import logging

        logger = logging.getLogger(__name__)


        def send_email(to):
            try:
                mailer.send(to)
            except Exception:
                logger.exception("Background task %s failed", "app.tasks.send_email")
        """,
        {
            "path": "app/tasks.py",
            "context": {
                "app/main.py": """\
            from starlette.background import BackgroundTasks
            from app.tasks import send_email as notify

            def signup(background_tasks: BackgroundTasks):
                background_tasks.add_task(notify, "ada@example.com")
            """
            },
        },
        id="absolute-import-with-alias-starlette-tasks-bare-file",
    ),
    pytest.param(
        """\
        def send_email(to):
            mailer.send(to)
        """,
        """\
        import logging

        logger = logging.getLogger(__name__)


        def send_email(to):
            try:
                mailer.send(to)
            except Exception:
                logger.exception("Background task %s failed", "app.jobs.mail.send_email")
        """,
        {
            "path": "app/jobs/mail.py",
            "context": {
                "app/jobs/__init__.py": "from .mail import send_email\n",
                "app/main.py": """\
                import app.jobs
                from fastapi import BackgroundTasks

                def signup(background_tasks: BackgroundTasks):
                    background_tasks.add_task(app.jobs.send_email, "ada@example.com")
                """,
            },
        },
        id="re-exported-by-a-package-dotted-import",
    ),
    pytest.param(
        """\
        import logging
        from fastapi import FastAPI
        from fastapi.responses import JSONResponse
        from starlette.background import BackgroundTask

        logger = logging.getLogger(__name__)
        app = FastAPI()


        def cleanup(path):
            path.unlink()


        @app.get("/file")
        def download():
            return JSONResponse({}, background=BackgroundTask(cleanup, "/tmp/x"))
        """,
        """\
        import logging
        from fastapi import FastAPI
        from fastapi.responses import JSONResponse
        from starlette.background import BackgroundTask

        logger = logging.getLogger(__name__)
        app = FastAPI()


        def cleanup(path):
            try:
                path.unlink()
            except Exception:
                logger.exception("Background task %s failed", "app.main.cleanup")


        @app.get("/file")
        def download():
            return JSONResponse({}, background=BackgroundTask(cleanup, "/tmp/x"))
        """,
        {},
        id="BackgroundTask-handed-to-a-response",
    ),
    pytest.param(
        """\
        import logging
        from starlette import background
        from starlette.responses import Response

        logger = logging.getLogger(__name__)


        def first():
            one()


        async def second():
            await two()


        def endpoint():
            tasks = background.BackgroundTasks(tasks=[background.BackgroundTask(first)])
            tasks.add_task(func=second)
            return Response(background=tasks)
        """,
        """\
        import logging
        from starlette import background
        from starlette.responses import Response

        logger = logging.getLogger(__name__)


        def first():
            try:
                one()
            except Exception:
                logger.exception("Background task %s failed", "app.main.first")


        async def second():
            try:
                await two()
            except Exception:
                logger.exception("Background task %s failed", "app.main.second")


        def endpoint():
            tasks = background.BackgroundTasks(tasks=[background.BackgroundTask(first)])
            tasks.add_task(func=second)
            return Response(background=tasks)
        """,
        {},
        id="constructed-BackgroundTasks-list-and-func-keyword",
    ),
    pytest.param(
        """\
        import logging
        from typing import Annotated, Optional
        from fastapi import BackgroundTasks, Depends

        logger = logging.getLogger(__name__)
        Tasks = Annotated[BackgroundTasks, Depends()]


        def a():
            one()


        def b():
            two()


        def c():
            three()


        def audit(tasks: Tasks):
            tasks.add_task(a)


        def route(tasks: Annotated[BackgroundTasks, Depends(audit)], more: "Optional[BackgroundTasks]"):
            tasks.add_task(b)
            more.add_task(c)
        """,
        """\
        import logging
        from typing import Annotated, Optional
        from fastapi import BackgroundTasks, Depends

        logger = logging.getLogger(__name__)
        Tasks = Annotated[BackgroundTasks, Depends()]


        def a():
            try:
                one()
            except Exception:
                logger.exception("Background task %s failed", "app.main.a")


        def b():
            try:
                two()
            except Exception:
                logger.exception("Background task %s failed", "app.main.b")


        def c():
            try:
                three()
            except Exception:
                logger.exception("Background task %s failed", "app.main.c")


        def audit(tasks: Tasks):
            tasks.add_task(a)


        def route(tasks: Annotated[BackgroundTasks, Depends(audit)], more: "Optional[BackgroundTasks]"):
            tasks.add_task(b)
            more.add_task(c)
        """,
        {},
        id="annotated-alias-dependency-and-string-annotations",
    ),
    pytest.param(
        """\
        import logging
        from fastapi import BackgroundTasks

        logger = logging.getLogger(__name__)


        def job():
            run()


        def route(tasks: BackgroundTasks):
            tasks.add_task(job)
        """,
        """\
        import logging
        from fastapi import BackgroundTasks

        logger = logging.getLogger(__name__)


        def job():
            try:
                run()
            except Exception:
                logger.exception("Background task %s failed", "app.main.job")
                raise


        def route(tasks: BackgroundTasks):
            tasks.add_task(job)
        """,
        {"options": {"reraise": True}},
        id="reraise",
    ),
    pytest.param(
        """\
        import logging

        logger = logging.getLogger(__name__)


        def send_email(to):
            mailer.send(to)


        def send_all(people):
            for person in people:
                send_email(person)
        """,
        """\
        import logging

        logger = logging.getLogger(__name__)


        def send_email(to):
            try:
                mailer.send(to)
            except Exception:
                logger.exception("Background task %s failed", "app.tasks.send_email")
                raise


        def send_all(people):
            for person in people:
                send_email(person)
        """,
        {
            "path": "app/tasks.py",
            "options": {"reraise": True},
            "context": {"app/main.py": ROUTE_CALLING_TASKS},
        },
        id="reraise-wraps-a-task-that-is-also-called-directly",
    ),
    pytest.param(
        "import logging\nfrom fastapi import BackgroundTasks\n\nlogger = logging.getLogger(__name__)\n\n\n"
        'def job(x):\n\t"""Doc."""\n\tif x:\n\t\treturn x * 2\n\treturn None\n\n\n'
        "def route(tasks: BackgroundTasks):\n\ttasks.add_task(job, 1)\n",
        "import logging\nfrom fastapi import BackgroundTasks\n\nlogger = logging.getLogger(__name__)\n\n\n"
        'def job(x):\n\t"""Doc."""\n\ttry:\n\t\tif x:\n\t\t\treturn x * 2\n\t\treturn None\n'
        '\texcept Exception:\n\t\tlogger.exception("Background task %s failed", "app.main.job")\n\n\n'
        "def route(tasks: BackgroundTasks):\n\ttasks.add_task(job, 1)\n",
        {},
        id="tabs-and-returns-kept",
    ),
    pytest.param(
        """\
        import logging
        from fastapi import BackgroundTasks

        logger = logging.getLogger(__name__)


        def job(items):
            def render(item):
                return str(item)

            for item in items:
                print(render(item))


        def route(tasks: BackgroundTasks):
            tasks.add_task(job, [])
        """,
        """\
        import logging
        from fastapi import BackgroundTasks

        logger = logging.getLogger(__name__)


        def job(items):
            try:
                def render(item):
                    return str(item)

                for item in items:
                    print(render(item))
            except Exception:
                logger.exception("Background task %s failed", "app.main.job")


        def route(tasks: BackgroundTasks):
            tasks.add_task(job, [])
        """,
        {},
        id="nested-function-moves-untouched",
    ),
    pytest.param(
        """\
        import logging
        from fastapi import BackgroundTasks

        logger = logging.getLogger(__name__)


        def job(db):
            try:
                db.write()
            except ValueError:
                pass
            try:
                db.commit()
            except Exception:
                db.rollback()
                raise
            finally:
                db.close()


        def route(tasks: BackgroundTasks):
            tasks.add_task(job, None)
        """,
        """\
        import logging
        from fastapi import BackgroundTasks

        logger = logging.getLogger(__name__)


        def job(db):
            try:
                try:
                    db.write()
                except ValueError:
                    pass
                try:
                    db.commit()
                except Exception:
                    db.rollback()
                    raise
                finally:
                    db.close()
            except Exception:
                logger.exception("Background task %s failed", "app.main.job")


        def route(tasks: BackgroundTasks):
            tasks.add_task(job, None)
        """,
        {},
        id="narrow-or-cleanup-handlers-do-not-protect",
    ),
    pytest.param(
        """\
        import logging
        from fastapi import BackgroundTasks

        logger = logging.getLogger(__name__)


        def job(x): do(x); more(x)  # both


        def route(tasks: BackgroundTasks):
            tasks.add_task(job, 1)
        """,
        """\
        import logging
        from fastapi import BackgroundTasks

        logger = logging.getLogger(__name__)


        def job(x):
            try:
                do(x); more(x)  # both
            except Exception:
                logger.exception("Background task %s failed", "app.main.job")


        def route(tasks: BackgroundTasks):
            tasks.add_task(job, 1)
        """,
        {},
        id="one-line-body",
    ),
    pytest.param(
        """\
        import logging
        from fastapi import BackgroundTasks

        logger = logging.getLogger(__name__)


        def job():
            from app.mail import send
            send()


        def route():
            tasks = BackgroundTasks()
            tasks.add_task(job)
            return tasks
        """,
        """\
        import logging
        from fastapi import BackgroundTasks

        logger = logging.getLogger(__name__)


        def job():
            try:
                from app.mail import send
                send()
            except Exception:
                logger.exception("Background task %s failed", "app.main.job")


        def route():
            tasks = BackgroundTasks()
            tasks.add_task(job)
            return tasks
        """,
        {},
        id="locally-constructed-BackgroundTasks",
    ),
    pytest.param(
        """\
        import logging
        import fastapi

        logger = logging.getLogger(__name__)


        def job():
            run()


        def route(tasks: fastapi.BackgroundTasks):
            from app import main
            tasks.add_task(main.job)
        """,
        """\
        import logging
        import fastapi

        logger = logging.getLogger(__name__)


        def job():
            try:
                run()
            except Exception:
                logger.exception("Background task %s failed", "app.main.job")


        def route(tasks: fastapi.BackgroundTasks):
            from app import main
            tasks.add_task(main.job)
        """,
        {},
        id="dotted-annotation-and-local-import",
    ),
    pytest.param(
        """\
        import logging
        from fastapi import BackgroundTasks
        from app.safety import log_failures

        logger = logging.getLogger(__name__)


        def job():
            run()


        @log_failures
        def other():
            run()


        def route(tasks: BackgroundTasks):
            tasks.add_task(job)
            tasks.add_task(other)
            tasks.add_task(log_failures(run))
        """,
        """\
        import logging
        from fastapi import BackgroundTasks
        from app.safety import log_failures

        logger = logging.getLogger(__name__)


        def job():
            try:
                run()
            except Exception:
                logger.exception("Background task %s failed", "app.main.job")


        @log_failures
        def other():
            run()


        def route(tasks: BackgroundTasks):
            tasks.add_task(job)
            tasks.add_task(other)
            tasks.add_task(log_failures(run))
        """,
        {"options": {"protecting-decorators": ["app.safety.log_failures"]}},
        id="protecting-decorator-option-leaves-others-alone",
    ),
    pytest.param(
        """\
        import logging.config

        from fastapi import BackgroundTasks


        def job():
            run()
            # more to come


        def route(tasks: BackgroundTasks):
            tasks.add_task(job)
        """,
        """\
        import logging.config

        from fastapi import BackgroundTasks

        logger = logging.getLogger(__name__)


        def job():
            try:
                run()
                # more to come
            except Exception:
                logger.exception("Background task %s failed", "app.main.job")


        def route(tasks: BackgroundTasks):
            tasks.add_task(job)
        """,
        {},
        id="logging-submodule-import-and-trailing-comment",
    ),
    pytest.param(
        """\
        import logging

        logger = logging.getLogger(__name__)


        def job():
            run()
        """,
        """\
        import logging

        logger = logging.getLogger(__name__)


        def job():
            try:
                run()
            except Exception:
                logger.exception("Background task %s failed", "app.job")
        """,
        {
            "path": "app/__init__.py",
            "context": {
                "app/main.py": """\
            from fastapi import BackgroundTasks
            from . import job

            def route(tasks: BackgroundTasks):
                tasks.add_task(job)
            """
            },
        },
        id="task-in-a-package-init",
    ),
    pytest.param(
        """\
        import logging
        from fastapi import BackgroundTasks

        logger = logging.getLogger(__name__)


        def job():  # fastapi-fix: ignore
            run()


        def other():
            run()


        def route(tasks: BackgroundTasks):
            tasks.add_task(job)
            tasks.add_task(other)
        """,
        """\
        import logging
        from fastapi import BackgroundTasks

        logger = logging.getLogger(__name__)


        def job():  # fastapi-fix: ignore
            run()


        def other():
            try:
                run()
            except Exception:
                logger.exception("Background task %s failed", "app.main.other")


        def route(tasks: BackgroundTasks):
            tasks.add_task(job)
            tasks.add_task(other)
        """,
        {},
        id="suppressed-task-left-whole",
    ),
    pytest.param(
        """\
        def send_email(to):
            mailer.send(to)
        """,
        """\
        import logging

        logger = logging.getLogger(__name__)


        def send_email(to):
            try:
                mailer.send(to)
            except Exception:
                logger.exception("Background task %s failed", "app.services.mail.send_email")
        """,
        # Two re-exports, each in a file without `add_task` or `BackgroundTask`, lead to the
        # definition; a user of the module that does not use the task changes nothing.
        {
            "path": "app/services/mail.py",
            "context": {
                "app/services/__init__.py": "from .mail import send_email as send\n",
                "app/api/deps.py": "from app.services import send\n",
                "app/api/routes.py": """\
                from fastapi import BackgroundTasks
                from app.api import deps

                def signup(background_tasks: BackgroundTasks):
                    background_tasks.add_task(deps.send, "ada@example.com")
                """,
                "app/services/preview.py": "from app.services import mail\n\nmail.render('x')\n",
            },
        },
        id="re-export-chain-through-files-without-markers",
    ),
]


@pytest.mark.parametrize(("before", "after", "kwargs"), TRANSFORMED)
def test_transformed(before, after, kwargs):
    assert check_transformed(CODEMOD, before, after, **kwargs) == []


NOOP = [
    pytest.param(
        """\
        import logging
        from fastapi import BackgroundTasks

        logger = logging.getLogger(__name__)


        def job():
            \"\"\"Doc.\"\"\"
            try:
                run()
            except Exception:
                logger.exception("Background task %s failed", "app.main.job")
                raise


        def bare():
            try:
                run()
            except:  # noqa: E722
                pass


        def everything():
            setup()
            try:
                run()
            except (KeyError, BaseException) as exc:
                report(exc)


        def route(tasks: BackgroundTasks):
            tasks.add_task(job)
            tasks.add_task(bare)
            tasks.add_task(everything)
        """,
        id="already-protected",
    ),
    pytest.param(
        """\
        from fastapi import BackgroundTasks


        def job():
            ...


        def other():
            \"\"\"Nothing to do yet.\"\"\"
            pass


        def route(tasks: BackgroundTasks):
            tasks.add_task(job)
            tasks.add_task(other)
        """,
        id="trivial-bodies",
    ),
    pytest.param(
        """\
        def route(tasks):
            tasks.add_task(job)


        def job():
            run()
        """,
        id="add_task-on-something-else-without-fastapi",
    ),
    pytest.param(
        """\
        def job():
            run()


        def start():
            job()
        """,
        id="no-tasks-at-all",
    ),
    pytest.param(
        """\
        from fastapi import BackgroundTasks
        from app.safety import log_failures, safe


        @log_failures
        def job():
            run()


        def route(tasks: BackgroundTasks):
            tasks.add_task(job)
            tasks.add_task(safe(job))
        """,
        id="protecting-decorator-and-wrapper",
    ),
    pytest.param(
        """\
        from fastapi import BackgroundTasks


        def job():  # fastapi-fix: ignore[background-task-logging]
            run()


        def route(tasks: BackgroundTasks):
            tasks.add_task(job)
        """,
        id="suppressed-task-adds-no-logger",
    ),
]


@pytest.mark.parametrize("source", NOOP)
def test_noop_without_findings(source):
    options = {"protecting-decorators": ["app.safety.log_failures", "app.safety.safe"]}
    assert check_noop(CODEMOD, source, options=options) == []


# (source, expected findings as "line:col: message fragment", extra keyword arguments)
REPORTED = [
    pytest.param(
        """\
        import functools
        import os
        from fastapi import BackgroundTasks


        def job(x):
            run(x)


        def route(tasks: BackgroundTasks):
            tasks.add_task(lambda: job(1))
            tasks.add_task(functools.partial(job, 1))
            later = lambda: None
            tasks.add_task(later)
            tasks.add_task(os.remove, "/tmp/x")
            tasks.add_task(print, "done")
        """,
        [
            "11:5: the task is a lambda",
            "12:5: the task is a functools.partial",
            "14:5: the task is a lambda",
            "15:5: the task `os.remove` is not defined in this project",
            "16:5: the task `print` is not defined in this project",
        ],
        {},
        id="lambda-partial-library",
    ),
    pytest.param(
        """\
        from fastapi import BackgroundTasks


        class Service:
            def run(self):
                work()

            def route(self, tasks: BackgroundTasks, other):
                tasks.add_task(self.run)
                tasks.add_task(other.run)
                tasks.add_task(Service.run, self)
        """,
        [
            "9:9: the task `self.run` is a method",
            "10:9: the task `other.run` is a method",
            "11:9: the task `Service.run` is a method",
        ],
        {},
        id="methods",
    ),
    pytest.param(
        """\
        from fastapi import BackgroundTasks


        def route(tasks: BackgroundTasks, callback, handlers):
            def job():
                run()

            tasks.add_task(job)
            tasks.add_task(callback)
            tasks.add_task(handlers[0])
            tasks.add_task(make_job())
        """,
        [
            "8:5: the task `job` is defined inside a function",
            "9:5: cannot tell which function `callback` is",
            "10:5: cannot tell which function `handlers[0]` is",
            "11:5: cannot tell which function `make_job()` is",
        ],
        {},
        id="nested-and-unresolvable",
    ),
    pytest.param(
        """\
        from fastapi import BackgroundTasks


        def gen():
            yield 1


        async def agen():
            yield 1


        @retry(times=3)
        def flaky():
            call()


        def twice():
            one()


        def twice():
            two()


        class Job:
            pass


        def route(tasks: BackgroundTasks):
            tasks.add_task(gen)
            tasks.add_task(agen)
            tasks.add_task(flaky)
            tasks.add_task(twice)
            tasks.add_task(Job)
        """,
        [
            "30:5: the task `app.main.gen` (app/main.py:4) is a generator function",
            "31:5: the task `app.main.agen` (app/main.py:8) is a generator function",
            "32:5: the task `app.main.flaky` (app/main.py:13) is decorated with @retry",
            "33:5: the task `app.main.twice` is bound more than once in app/main.py",
            "34:5: the task `app.main.Job` is not a module-level function of the project",
        ],
        {},
        id="generator-decorated-rebound-class",
    ),
    pytest.param(
        """\
        from fastapi import BackgroundTasks


        def route(tasks, request):
            tasks.add_task(job)
            request.state.tasks.add_task(job)


        def job():
            run()
        """,
        [
            "5:5: cannot tell that `tasks` is a BackgroundTasks",
            "6:5: cannot tell that `request.state.tasks` is a BackgroundTasks",
        ],
        {},
        id="unknown-receiver-in-a-file-that-uses-BackgroundTasks",
    ),
    pytest.param(
        ROUTE_CALLING_TASKS,
        [
            "9:5: the task `app.tasks.send_email` is also called directly at app/cli.py:5:5; "
            "wrapping it would swallow errors for that caller"
        ],
        {
            "context": {
                "app/tasks.py": "def send_email(to):\n    mailer.send(to)\n",
                "app/cli.py": "from app.tasks import send_email\n\n\ndef main():\n    send_email('x')\n",
            }
        },
        id="also-called-directly-default-mode",
    ),
    pytest.param(
        """\
        from fastapi import BackgroundTasks
        from app.tasks import send_email

        def signup(background_tasks: BackgroundTasks):
            background_tasks.add_task(send_email, "ada@example.com")
        """,
        ["5:5: the task `app.tasks.send_email` is also called directly at app/cli.py:5:5"],
        # The caller names the task only by the name the package re-exports it under.
        {
            "context": {
                "app/tasks.py": "def send_email(to):\n    mailer.send(to)\n",
                "app/__init__.py": "from app.tasks import send_email as notify\n",
                "app/cli.py": "from app import notify\n\n\ndef main():\n    notify('x')\n",
            }
        },
        id="called-directly-under-a-re-exported-name-in-a-plain-module",
    ),
    pytest.param(
        ROUTE_CALLING_TASKS,
        [
            "9:5: the task `app.tasks.send_email` is also used outside background tasks at app/jobs.py:3:15"
        ],
        {
            "context": {
                "app/tasks.py": "def send_email(to):\n    mailer.send(to)\n",
                "app/jobs.py": "from app import tasks\n\nscheduler.add(tasks.send_email)\n",
            }
        },
        id="also-used-as-a-value",
    ),
    pytest.param(
        """\
        from fastapi import BackgroundTasks
        from app.tasks import Cleaner, send_email

        def route(tasks: BackgroundTasks):
            tasks.add_task(send_email)
            tasks.add_task(Cleaner().run)
        """,
        [
            "5:5: the task `app.tasks.send_email` is in app/tasks.py, which the running Python cannot parse",
            "6:5: cannot tell which function `Cleaner().run` is",
        ],
        # PEP 701 quotes in an f-string: LibCST reads it, the running Python's `ast` does not, and
        # the engine cannot spell it for this Python (as it does PEP 758 and PEP 695).
        {"context": {"app/tasks.py": 'def send_email():\n    mailer.send(f"{names["ada"]}")\n'}},
        id="definition-in-a-file-this-python-cannot-parse",
        marks=NEEDS_PYTHON_BELOW_312,
    ),
    pytest.param(
        """\
        from fastapi import BackgroundTasks
        from app.settings import logging


        def job():
            logging.configure()


        def route(tasks: BackgroundTasks):
            tasks.add_task(job)
        """,
        ["5:5: cannot wrap `app.main.job`: the name `logging` is taken in this module"],
        {},
        id="logging-name-taken",
    ),
]


@pytest.mark.parametrize(("source", "expected", "kwargs"), REPORTED)
def test_noop_with_findings(source, expected, kwargs):
    findings = check_noop(CODEMOD, source, **kwargs)
    got = [f"{f.line}:{f.column}: {f.message}" for f in findings]
    assert len(got) == len(expected), got
    for message, fragment in zip(got, expected, strict=True):
        assert message.startswith(fragment), (message, fragment)


def test_findings_name_the_fix():
    findings = check_noop(CODEMOD, REPORTED[0].values[0])
    assert all(
        "logger.exception" in f.message or "module-level function" in f.message for f in findings
    )
    assert str(findings[0]).startswith("app/main.py:11:5: background-task-logging: ")


def test_definition_left_alone_when_called_directly():
    context = {
        "app/main.py": ROUTE_CALLING_TASKS,
        "app/cli.py": "from app import tasks\ntasks.send_email('x')\n",
    }
    source = "def send_email(to):\n    mailer.send(to)\n"
    assert check_noop(CODEMOD, source, path="app/tasks.py", context=context) == []


def test_calls_between_other_functions_do_not_count():
    # `send_email` calls a helper, and a non-task function calls `send_email`'s helper:
    # only uses of the task itself keep it from being wrapped.
    before = """\
        import logging

        logger = logging.getLogger(__name__)


        def render(to):
            return to


        def send_email(to):
            mailer.send(render(to))
        """
    after = """\
        import logging

        logger = logging.getLogger(__name__)


        def render(to):
            return to


        def send_email(to):
            try:
                mailer.send(render(to))
            except Exception:
                logger.exception("Background task %s failed", "app.tasks.send_email")
        """
    context = {
        "app/main.py": ROUTE_CALLING_TASKS,
        "app/preview.py": "from app.tasks import render\nrender('x')\n",
    }
    assert check_transformed(CODEMOD, before, after, path="app/tasks.py", context=context) == []


def test_only_the_registered_definition_is_rewritten():
    files = {
        "app/main.py": ROUTE_CALLING_TASKS.encode(),
        "app/tasks.py": b"def send_email(to):\n    mailer.send(to)\n\n\ndef unused():\n    boom()\n",
        "app/other.py": b"def send_email(to):\n    other()\n",
    }
    results = run_project(CODEMOD, files)
    assert results["app/main.py"].status is Status.UNCHANGED
    assert results["app/other.py"].status is Status.UNCHANGED
    new = results["app/tasks.py"].new.decode()
    assert new.count("try:") == 1 and "def unused():\n    boom()\n" in new
    assert [(e.line, e.end_line) for e in results["app/tasks.py"].edits] == [(1, 2)]


@NEEDS_PYTHON_BELOW_312
def test_unparsed_registration_file_is_reported():
    files = {"app/main.py": b'from fastapi import BackgroundTasks\ngreeting = f"{names["ada"]}"\n'}
    result = run_project(CODEMOD, files)["app/main.py"]
    assert result.status is Status.UNCHANGED
    assert [f.message for f in result.findings] == [
        "this file uses syntax the running Python cannot parse: its background tasks were not checked; "
        "run fastapi-fix under a newer Python"
    ]


@pytest.mark.parametrize(
    "other_tasks",
    [
        pytest.param(b"def job():\n    run()\n", id="other-plain"),
        # Not a task to wrap there: the file next to the user is still found by the name it defines.
        pytest.param(
            b"from app.retry import retry\n\n\n@retry\ndef job():\n    run()\n",
            id="other-decorated",
        ),
    ],
)
def test_same_module_name_in_two_folders_resolves_next_to_the_user(other_tasks):
    # Folders without __init__.py: both `tasks.py` are module `tasks` (the engine's own runs
    # name them apart; a caller of `Runner` may not).
    def file(relative):
        return SourceFile(PROJECT / relative, relative, Path(relative).stem)

    route = (
        b"from fastapi import BackgroundTasks\nfrom tasks import job\n\n\ndef route(t: BackgroundTasks):\n"
        b"    t.add_task(job)\n"
    )
    tasks = b"import logging\n\nlogger = logging.getLogger(__name__)\n\n\ndef job():\n    run()\n"
    sources = {
        file("one/main.py"): route,
        file("one/tasks.py"): tasks,
        file("two/tasks.py"): other_tasks,
    }
    codemod = codemods.by_name()[CODEMOD](Settings())
    results = {
        r.display_path: r for r in Runner([codemod], jobs=1).run(list(sources), sources=sources)
    }
    assert results["two/tasks.py"].status is Status.UNCHANGED
    assert (
        b'logger.exception("Background task %s failed", "tasks.job")' in results["one/tasks.py"].new
    )


def _more_to_gather(files, **options):
    codemod = codemods.by_name()[CODEMOD](Settings(options={CODEMOD: options}))
    facts = {}
    for relative, code in files.items():
        file = in_memory_file(relative)
        facts[file] = codemod.gather(file, ast.parse(textwrap.dedent(code)))
    return codemod.more_to_gather(facts)


def test_more_to_gather_follows_a_task_to_its_definition_then_to_its_users():
    files = {"app/main.py": ROUTE_CALLING_TASKS}
    # The registration names `app.tasks.send_email`: every module that name may start with.
    assert _more_to_gather(files) == Wanted(modules=frozenset({"app", "app.tasks"}))
    # Found and to be wrapped: any file holding its name may also call it.
    files["app/tasks.py"] = "def send_email(to):\n    mailer.send(to)\n"
    assert _more_to_gather(files) == Wanted(
        frozenset({"send_email"}), frozenset({"app", "app.tasks"})
    )
    # Re-exported under another name: files holding that name too.
    files["app/__init__.py"] = "from app.tasks import send_email as notify\n"
    assert _more_to_gather(files) == Wanted(
        frozenset({"send_email", "notify"}), frozenset({"app", "app.tasks"})
    )
    # A file that uses it by that name: where the use leads (already asked for).
    files["app/cli.py"] = "from app import notify\nnotify('x')\n"
    assert _more_to_gather(files) == Wanted(
        frozenset({"send_email", "notify"}), frozenset({"app", "app.tasks"})
    )


def test_more_to_gather_wants_no_users_when_nothing_is_wrapped_for_them():
    files = {
        "app/main.py": ROUTE_CALLING_TASKS,
        "app/tasks.py": "from app.retry import retry\n\n\n@retry\ndef send_email(to):\n    mailer.send(to)\n",
        "app/__init__.py": "from app.tasks import send_email as notify\n",
    }
    # Decorated: reported, not wrapped, so its users do not matter; its own name is where it is defined.
    assert _more_to_gather(files) == Wanted(
        frozenset({"send_email"}), frozenset({"app", "app.tasks"})
    )
    files["app/tasks.py"] = "def send_email(to):\n    mailer.send(to)\n"
    # --reraise wraps a task whatever else uses it.
    assert _more_to_gather(files, reraise=True) == Wanted(
        frozenset({"send_email"}), frozenset({"app", "app.tasks"})
    )


def test_more_to_gather_looks_no_further_for_library_tasks():
    source = """\
        import shutil
        from fastapi import BackgroundTasks

        def route(tasks: BackgroundTasks):
            tasks.add_task(shutil.rmtree, "/tmp/x")
        """
    assert _more_to_gather({"app/main.py": source}) == Wanted(modules=frozenset({"shutil"}))


# -- names followed by the project's resolver ----------------------------------------------

USERS_TABLE = """\
class UsersTable:
    def cleanup(self, user_id):
        purge(user_id)


Users = UsersTable()
"""


@pytest.mark.parametrize(
    ("route", "expected"),
    [
        pytest.param(
            "from app.models import Users\n",
            "the task `app.models.Users.cleanup` is the method "
            "`app.models.UsersTable.cleanup` (app/models.py:2)",
            id="imported-instance",
        ),
        pytest.param(
            "from app.models import UsersTable\n\nUsers = UsersTable()\n",
            "the task `app.main.Users.cleanup` is the method `app.models.UsersTable.cleanup` "
            "(app/models.py:2)",
            id="instance-of-this-module",
        ),
    ],
)
def test_a_bound_method_of_a_module_level_instance_is_followed_to_the_method(route, expected):
    source = (
        "from fastapi import BackgroundTasks\n"
        f"{route}\n\n"
        "def route(tasks: BackgroundTasks):\n"
        "    tasks.add_task(Users.cleanup, 1)\n"
    )
    findings = check_noop(CODEMOD, source, context={"app/models.py": USERS_TABLE})
    assert [f.message.partition(", which")[0] for f in findings] == [expected]


def test_an_unknown_module_level_object_is_still_a_method_to_rewrite_by_hand():
    source = (
        "from fastapi import BackgroundTasks\n"
        "from mailer import Client\n\n"
        "client = Client()\n\n\n"
        "def route(tasks: BackgroundTasks):\n"
        "    tasks.add_task(client.send)\n"
    )
    findings = check_noop(CODEMOD, source)
    assert [f.message.partition(",")[0] for f in findings] == ["the task `client.send` is a method"]


STAR_ROUTE = """\
from fastapi import BackgroundTasks

from app.jobs import send_email


def route(tasks: BackgroundTasks):
    tasks.add_task(send_email, "ada@example.com")
"""
SEND_EMAIL = "def send_email(to):\n    mailer.send(to)\n"


def test_a_task_reexported_through_a_star_import_listed_in_all_is_wrapped():
    context = {
        "app/main.py": STAR_ROUTE,
        "app/jobs/__init__.py": "from app.jobs.mail import *\n",
    }
    before = '__all__ = ["send_email"]\n\n\n' + SEND_EMAIL
    after = (
        "import logging\n\n"
        "logger = logging.getLogger(__name__)\n\n"
        '__all__ = ["send_email"]\n\n\n'
        "def send_email(to):\n"
        "    try:\n"
        "        mailer.send(to)\n"
        "    except Exception:\n"
        '        logger.exception("Background task %s failed", "app.jobs.mail.send_email")\n'
    )
    check_transformed(CODEMOD, before, after, path="app/jobs/mail.py", context=context)


def test_a_star_import_takes_only_what_all_lists():
    context = {
        "app/jobs/__init__.py": "from app.jobs.mail import *\n",
        "app/jobs/mail.py": '__all__ = ["other"]\n\n\n' + SEND_EMAIL + "\n\ndef other(): ...\n",
    }
    findings = check_noop(CODEMOD, STAR_ROUTE, context=context)
    assert [f.message.partition(":")[0] for f in findings] == [
        "the task `app.jobs.send_email` is not a module-level function of the project"
    ]
