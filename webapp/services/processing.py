"""A recording's processing: how far it has gone, and trying it again after it failed."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from policies import InvalidTransition
from webapp import db
from webapp.context import Services
from webapp.pipeline import DRAFT, TRANSCRIBE, JobStatus, dispatch, enqueue, job_status
from webapp.services.access import get_recording
from webapp.services.audit_trail import record
from webapp.services.auth import CurrentUser

__all__ = ["processing_of", "retry_processing"]


def processing_of(
    svc: Services, user: CurrentUser, recording_id: str
) -> tuple[Any, JobStatus | None]:
    """The recording and the state of its latest job (``None`` when it has none).

    Raises:
        NotFound: The recording does not exist or the user may not see it.
    """
    with svc.engine.connect() as conn:
        rec = get_recording(svc, conn, user, recording_id)
        status = job_status(conn, recording_id)
    return rec, status


def retry_processing(svc: Services, user: CurrentUser, recording_id: str) -> tuple[int, str]:
    """Queue a failed recording again, from the stage that failed.

    A recording whose transcript is kept is drafted again; one without is transcribed
    again (its audio must still exist).

    Args:
        svc: The app's services.
        user: Who asked: they must be able to edit the recording.
        recording_id: The recording whose processing failed.

    Returns:
        The new job's id and kind (``transcribe`` or ``draft``).

    Raises:
        NotFound: The recording does not exist or the user may not see it.
        Forbidden: The user may see the recording but not change it.
        InvalidTransition: The recording has not failed, or nothing is left to retry.
    """
    with svc.engine.connect() as conn:
        get_recording(svc, conn, user, recording_id, need="edit")
        conn.rollback()
    with svc.engine.begin() as conn:
        rec = conn.execute(
            sa.select(
                db.recordings.c.status, db.recordings.c.audio_blob, db.recordings.c.transcript_enc
            ).where(db.recordings.c.id == recording_id)
        ).one()
        if rec.status != "failed":
            raise InvalidTransition(
                "Only a recording whose processing failed can be tried again; this one is "
                f"{rec.status.replace('_', ' ')}."
            )
        kind = DRAFT if rec.transcript_enc is not None else TRANSCRIBE
        if kind == TRANSCRIBE and rec.audio_blob is None:
            raise InvalidTransition(
                "The audio of this recording has been deleted, so it cannot be processed "
                "again. Upload it again if you still have it."
            )
        # The status check and this update are one step, so a double click queues once.
        changed = conn.execute(
            sa.update(db.recordings)
            .where(db.recordings.c.id == recording_id, db.recordings.c.status == "failed")
            .values(status="queued" if kind == TRANSCRIBE else "transcribed")
        ).rowcount
        if changed != 1:
            raise InvalidTransition("This recording has already been queued again.")
        job_id = enqueue(conn, recording_id, svc.settings.job_max_attempts, kind)
        record(
            conn, user.id, user.username, "job_retried", "recording", recording_id, {"job": job_id}
        )
    dispatch(svc, job_id, kind)
    return job_id, kind
