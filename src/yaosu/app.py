"""create_app(): the API at /api/v1 (OpenAPI at /api/v1/openapi.json, docs at /api/docs and
/api/redoc)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from functools import partial
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

import yaosu
from yaosu.api import docs, errors
from yaosu.api.deps import SESSION
from yaosu.catalog.endpoints import router as catalog_router
from yaosu.catalog.tasks import runner
from yaosu.classification.endpoints import router as classification_router
from yaosu.config import get_settings
from yaosu.db import get_engine, session_factory, unit_of_work
from yaosu.identity.access import PUBLIC
from yaosu.identity.endpoints import router as identity_router
from yaosu.identity.service import org_service
from yaosu.identity.subject import Subject
from yaosu.ledger.endpoints import router as ledger_router
from yaosu.ledger.service import ledger_service
from yaosu.opendata.ckan import router as ckan_router
from yaosu.opendata.dcat import router as dcat_router
from yaosu.opendata.endpoints import router as opendata_router
from yaosu.sharing import tasks as sharing_tasks
from yaosu.sharing.endpoints import router as sharing_router
from yaosu.web import (
    common,
    pages,
    workspace,
    ws_admin,
    ws_catalog,
    ws_duties,
    ws_opendata,
    ws_protection,
    ws_resources,
    ws_reviews,
    ws_sharing,
    ws_trail,
)

log = logging.getLogger("yaosu")

health_router = APIRouter(tags=["health"])


@health_router.get("/health")
def health(subject: Subject | None = Depends(PUBLIC), session: Session = SESSION) -> dict[str, Any]:
    """Database, storage and version; 200 when all are usable. Anyone sees the status, the
    version and an ``ok`` flag per part; the database dialect and the storage location are
    shown only to a signed-in platform administrator (they tell an attacker where to aim)."""
    settings = get_settings()
    session.execute(text("SELECT 1"))
    storage = settings.storage_root
    storage_ok = True
    if "://" not in storage:
        root = Path(storage)
        storage_ok = root.is_dir() and root.stat().st_mode & 0o200 != 0
    body: dict[str, Any] = {
        "status": "ok" if storage_ok else "degraded",
        "version": yaosu.__version__,
        "database": {"ok": True},
        "storage": {"ok": storage_ok},
        "ledger": {"size": ledger_service.size(session)},
    }
    if (
        subject is not None
        and "platform_admin" in subject.roles
        and subject.org_status == "active"  # a suspended unit's admin is no admin
    ):
        body["database"]["dialect"] = session.get_bind().dialect.name
        body["storage"]["url"] = storage
    return body


# Every router served under /api/v1; tests walk this to check each route declares its callers.
API_PREFIX = "/api/v1"
API_ROUTERS: tuple[APIRouter, ...] = (
    health_router,
    identity_router,
    ledger_router,
    catalog_router,
    classification_router,
    sharing_router,
    opendata_router,
)
# Routers served at the root: the CKAN Action API and DCAT-AP feeds for harvesters, then the
# portal's pages.
ROOT_ROUTERS: tuple[APIRouter, ...] = (
    ckan_router,
    dcat_router,
    pages.router,
    workspace.router,
    ws_resources.router,
    ws_reviews.router,
    ws_sharing.router,
    ws_trail.router,
    ws_catalog.router,
    ws_protection.router,
    ws_duties.router,
    ws_opendata.router,
    ws_admin.router,
)


def create_app(
    engine: Engine | None = None,
    sessions: Callable[[bool], Session] | None = None,
    *,
    background: bool = False,
) -> FastAPI:
    """Build the application. ``sessions(write)`` makes a Session per request (tests swap it).
    With ``background`` the node also runs ingest jobs on worker threads, scheduled pulls and
    scheduled ledger checkpoints (``yaosu up``); without it, jobs run inside their request."""
    get_settings()  # a setting the node cannot run with (YAOSU_TIMEZONE…) stops it here

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tasks: list[asyncio.Task[None]] = []
        if background:
            runner.configure(app.state.sessions)
            await asyncio.to_thread(runner.recover)
            tasks.append(asyncio.create_task(_every(30, runner.tick)))
            tasks.append(
                asyncio.create_task(_every(10, partial(sharing_tasks.tick, app.state.sessions)))
            )
            interval = get_settings().checkpoint_interval
            if interval > 0:
                tasks.append(asyncio.create_task(_checkpoint_loop(engine, interval)))
        yield
        for task in tasks:
            task.cancel()
        if background:
            runner.shutdown()

    app = FastAPI(
        title="Yaosu 要素 API",
        version=yaosu.__version__,
        description="A city's public-data platform: catalog, sharing, open data, operation, "
        "trading, rights and assets — policy-checked and verifiable. 城市公共数据要素平台。",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # served by yaosu.api.docs, from the package rather than a CDN
        redoc_url=None,
        lifespan=lifespan,
    )
    if sessions is None:
        write_factory = session_factory(engine, write=True)
        read_factory = session_factory(engine, write=False)

        def sessions(write: bool) -> Session:
            return (write_factory if write else read_factory)()

    app.state.sessions = sessions
    storage = get_settings().storage_root
    if "://" not in storage:
        Path(storage).mkdir(parents=True, exist_ok=True)
    errors.install(app, html=common.render_error)
    docs.install(app)
    for router in API_ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    for router in ROOT_ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=common.STATIC_DIR), name="static")

    @app.get("/org/{org_id}/did.json", include_in_schema=False)
    def did_web(org_id: str, _: None = Depends(PUBLIC), session: Session = SESSION) -> Any:
        # did:web resolution: did:web:<domain>:org:<id> → https://<domain>/org/<id>/did.json
        return org_service.did_document(session, org_id)

    return app


async def _every(seconds: int, fn: Callable[[], object]) -> None:
    while True:
        await asyncio.sleep(seconds)
        try:
            await asyncio.to_thread(fn)
        except Exception:  # keep serving; the next round retries
            log.exception("background task %s failed", getattr(fn, "__name__", fn))


async def _checkpoint_loop(engine: Engine | None, interval: int) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await asyncio.to_thread(_checkpoint_once, engine)
        except Exception:  # keep serving; the next round retries
            log.exception("scheduled checkpoint failed")


def _checkpoint_once(engine: Engine | None) -> None:
    with unit_of_work(engine or get_engine()) as session:
        ledger_service.checkpoint(session)
