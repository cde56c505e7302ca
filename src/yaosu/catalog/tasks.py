"""Running ingest jobs: synchronously inside a request or command, or on a worker thread after
the request commits; and the scheduler that queues due pulls."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.orm import Session

from yaosu.catalog import pullguard
from yaosu.catalog.service import dataset_service, job_actor
from yaosu.classification.service import classification_service
from yaosu.db.uow import transaction
from yaosu.identity.subject import Subject
from yaosu.kit import netguard
from yaosu.kit.errors import Invalid, YaosuError
from yaosu.kit.timeutil import utcnow
from yaosu.models.catalog import DatasetVersion, IngestJob, Resource
from yaosu.sharing.service import subscription_service

log = logging.getLogger("yaosu.jobs")
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class OwnStore:
    """What a pull must never reach, taken from the node's session before the job runs."""

    stores: pullguard.OwnStores
    identity: pullguard.Identity | None

    @classmethod
    def of(cls, session: Session) -> OwnStore:
        return cls(pullguard.OwnStores.of(session), pullguard.own_identity(session))


def build_source(job: IngestJob, own: OwnStore | None = None) -> Any:
    """The data-plane source a job reads from. Pulls are checked again here, at run time
    (DNS answers and files change): the address policy and the node's own stores."""
    from yaosu.dataplane import readers

    p = job.params
    if job.kind == "upload":
        return readers.open_source(
            p["path"], format=p.get("format"), encoding=p.get("encoding"), sheet=p.get("sheet")
        )
    if job.kind == "http":
        return readers.http_source(
            p["url"],
            format=p.get("format"),
            encoding=p.get("encoding"),
            policy=netguard.node_policy(),
        )
    if job.kind == "sql":
        stores = own.stores if own is not None else pullguard.OwnStores.of()
        try:
            connect = pullguard.connector(p["url"], stores, own.identity if own else None)
        except netguard.HostUnresolved as exc:
            raise Invalid(
                f"Pulling the query failed: {exc}",
                f"拉取查询失败：{exc}",
                code="pull_failed",
            ) from None
        engine = create_engine(p["url"])  # only its dialect, to quote the table name
        query = p.get("query") or f"SELECT * FROM {_quoted_table(engine, p['table'])}"
        return readers.sql_source(connect, query=query)
    raise Invalid(
        f"Unknown job kind {job.kind!r}.", f"未知的任务类型 {job.kind!r}。", code="invalid_job"
    )


def _quoted_table(engine: Any, table: str) -> str:
    # Quote each dotted part as an identifier: a table name is never spliced in as SQL.
    prep = engine.dialect.identifier_preparer
    return ".".join(prep.quote_identifier(part) for part in table.split("."))


def run_in_session(session: Session, job_id: str, progress: Progress | None = None) -> IngestJob:
    """Run a job inside the caller's transaction (CLI, ``wait=true``). A failure is recorded on
    the job and nothing is stored."""
    from yaosu.dataplane.ingest import ingest

    job = dataset_service.start_job(session, job_id)
    try:
        with build_source(job, OwnStore.of(session)) as source:
            result = ingest(source, dataset_service.storage(), progress=progress)
    except YaosuError as exc:
        dataset_service.fail_job(session, job_id, exc)
        return job
    findings = classification_service.compute(dataset_service.storage(), result.key)
    index_keys(result.key, findings)
    _finish(session, job_id, result, findings)
    _discard_upload_after_commit(session, job)
    return job


def index_keys(key: str, findings: Any) -> None:
    """Give the version's natural keys (resident IDs, credit codes) their lookup index as the
    version is stored (see ``dataplane.keyindex``); keys named with ``by`` get theirs on first
    use. A failure here costs only speed: the first lookup builds the index instead."""
    storage = dataset_service.storage()
    if not storage.local or not findings:
        return
    from yaosu.dataplane import keyindex

    for finding in findings:
        if finding.type in ("resident_id", "uscc"):
            try:
                keyindex.load_or_build(storage.path(key), finding.column)
            except Exception:  # never lose a version over its index
                log.exception("key index of %s (%s) failed", key, finding.column)


def _finish(session: Session, job_id: str, result: Any, findings: Any) -> None:
    """The new version and its classification land in one transaction: a version is never
    visible unclassified unless the classifier itself failed (then the ledger says so). A new
    version of a published resource is staged; it goes live here only when its schema and
    classification match the current version's and its grade does not rise (accepted
    automatically), else it waits in the reviewers' queue."""
    version = dataset_service.finish_job(session, job_id, result)
    job = session.get(IngestJob, job_id)
    assert job is not None
    actor = job_actor(job)
    classification_service.record(session, version, findings, actor)
    if version.state == "staged":
        reasons, basis = classification_service.compare_with_current(session, version)
        if reasons:
            dataset_service.hold_for_review(session, version, actor, reasons)
            return
        dataset_service.accept_automatically(session, version, actor, basis)
        if version.state != "accepted":
            return
    _went_live(session, actor, version)


def _went_live(session: Session, actor: Any, version: DatasetVersion) -> None:
    """A version became the one served: the resource takes its grade, subscribers hear of it."""
    resource = session.get(Resource, version.resource_id)
    assert resource is not None
    classification_service.sync_grade(session, actor, resource)
    subscription_service.version_published(session, version)


# --- decisions on staged versions, and rollback -------------------------------------------------
def accept_version(
    session: Session, subject: Subject, version_id: str, reason: str | None = None
) -> DatasetVersion:
    """A reviewer accepts a staged version: it becomes current and is served."""
    version = dataset_service.accept(session, subject, version_id, reason)
    _went_live(session, subject.actor, version)
    return version


def reject_version(
    session: Session, subject: Subject, version_id: str, reason: str
) -> DatasetVersion:
    """A reviewer rejects a staged version (with a reason): it is never served."""
    return dataset_service.reject(session, subject, version_id, reason)


def rollback(
    session: Session, subject: Subject, resource_id: str, version_id: str, reason: str
) -> DatasetVersion:
    """Point a resource back to an earlier accepted version; grants then serve that version."""
    version = dataset_service.rollback(session, subject, resource_id, version_id, reason)
    _went_live(session, subject.actor, version)
    return version


def _discard_upload_after_commit(session: Session, job: IngestJob) -> None:
    """A staged upload is a copy: drop it once its version is committed (not a CLI user's file)."""
    path = job.params.get("path")
    if job.kind != "upload" or job.params.get("keep") or not path:
        return

    @event.listens_for(session, "after_commit", once=True)
    def _drop(_: Session) -> None:
        Path(path).unlink(missing_ok=True)


class JobRunner:
    """Runs queued jobs on worker threads, each step in its own short transaction."""

    def __init__(self) -> None:
        self._sessions: Callable[[bool], Session] | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def configure(self, sessions: Callable[[bool], Session], workers: int = 2) -> None:
        with self._lock:
            self._sessions = sessions
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="yaosu-job")

    def shutdown(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None

    def dispatch(self, session: Session, job_id: str, wait: bool) -> IngestJob:
        """Run now in this transaction (``wait``), or on a worker once this transaction commits."""
        if wait or self._pool is None:
            return run_in_session(session, job_id)

        @event.listens_for(session, "after_commit", once=True)
        def _submit(_: Session) -> None:
            assert self._pool is not None
            self._pool.submit(self.run, job_id)

        job = session.get(IngestJob, job_id)
        assert job is not None
        return job

    def run(self, job_id: str) -> None:
        from yaosu.dataplane.ingest import ingest

        assert self._sessions is not None
        sessions = self._sessions
        try:
            with transaction(sessions(True)) as s:
                job = dataset_service.start_job(s, job_id)
                own = OwnStore.of(s)
                s.expunge(job)
            last = [0.0]

            def progress(rows: int, nbytes: int) -> None:
                now = time.monotonic()
                if now - last[0] >= 0.5:
                    last[0] = now
                    with transaction(sessions(True)) as ps:
                        dataset_service.progress(ps, job_id, rows, nbytes)

            with build_source(job, own) as source:
                result = ingest(source, dataset_service.storage(), progress=progress)
            # Classify outside any transaction: it reads the whole version.
            findings = classification_service.compute(dataset_service.storage(), result.key)
            index_keys(result.key, findings)
            with transaction(sessions(True)) as s:
                _finish(s, job_id, result, findings)
                _discard_upload_after_commit(s, job)
        except Exception as exc:  # recorded on the job; the worker lives on
            if not isinstance(exc, YaosuError):
                log.exception("ingest job %s failed", job_id)
            with transaction(sessions(True)) as s:
                dataset_service.fail_job(s, job_id, exc)

    def tick(self) -> int:
        """Queue due scheduled pulls and run them; returns how many were queued."""
        assert self._sessions is not None
        with transaction(self._sessions(True)) as s:
            jobs = [j.id for j in dataset_service.due_pulls(s, utcnow())]
        for job_id in jobs:
            if self._pool is not None:
                self._pool.submit(self.run, job_id)
        return len(jobs)

    def recover(self) -> int:
        assert self._sessions is not None
        with transaction(self._sessions(True)) as s:
            return dataset_service.recover(s)


runner = JobRunner()
