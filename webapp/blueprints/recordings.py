"""Recordings: the list, the upload form, processing progress, the audio stream."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)

from policies import BadInput
from webapp import db
from webapp.context import services
from webapp.pipeline import DRAFT
from webapp.services.access import require
from webapp.services.audio import open_audio
from webapp.services.handoff import STATE_WORDS
from webapp.services.processing import processing_of, retry_processing
from webapp.services.recording_list import recording_list
from webapp.services.recordings import create_recording
from webapp.services.upload_details import (
    CONSENT_METHODS,
    MAX_PARTICIPANTS,
    VISIT_TYPE_MISSING,
    UploadDetails,
    recording_allowed,
)
from webapp.services.users import teams_of
from webapp.services.visit_language import (
    MAX_INTERPRETER_NAME,
    VisitLanguage,
    language_choices,
)
from webapp.web import current_user, login_required, wants_json

bp = Blueprint("recordings", __name__, url_prefix="/recordings")


@bp.get("")
@login_required
def index() -> Any:
    """The recordings the user may see."""
    svc = services()
    listed = recording_list(svc, current_user())
    return render_template(
        "recordings/index.html",
        recordings=listed.recordings,
        awaiting=listed.awaiting,
        ready=listed.ready,
        checking=listed.checking,
        handoff=listed.handoff,
        handoff_words=STATE_WORDS,
        references=listed.references,
        templates=svc.templates,
        status_words=STATUS_WORDS,
    )


#: What each recording status means to the people using the list.
STATUS_WORDS = {
    "queued": "Waiting to be transcribed",
    "transcribed": "Transcribed; the draft is being written",
    "draft_ready": "Draft ready for review",
    "approved": "Approved",
    "failed": "Processing failed: open it to try again",
}


@bp.get("/new")
@login_required
def new() -> Any:
    """The upload and record form."""
    svc = services()
    require(current_user(), "upload", "Your role cannot upload recordings.")
    choices = [
        (name, getattr(t, "title", name), *recording_allowed(svc, name))
        for name, t in sorted(svc.templates.items())
    ]
    teams = teams_of(svc, current_user())
    return render_template(
        "recordings/new.html",
        choices=choices,
        teams=teams,
        today=db.local_today().isoformat(),
        max_mib=svc.settings.max_content_length // (1024 * 1024),
        consent_methods=CONSENT_METHODS,
        visit_type_missing=VISIT_TYPE_MISSING,
        language_choices=language_choices(),
        max_interpreter_name=MAX_INTERPRETER_NAME,
    )


def _details_from_form() -> UploadDetails:
    form = request.form
    names = form.getlist("participant_name")
    roles = form.getlist("participant_role")
    if len(names) > 4 * MAX_PARTICIPANTS:  # before any work on them
        raise BadInput(f"A recording can list at most {MAX_PARTICIPANTS} participants.")
    if len(names) != len(roles):
        raise BadInput("Each participant needs a name and a role.")
    confirmed = set(form.getlist("participant_consent"))
    rows = [(n, r) for n, r in zip(names, roles, strict=True) if n.strip() or r.strip()]
    consent = tuple(
        str(i) in confirmed
        for i, (n, r) in enumerate(zip(names, roles, strict=True))
        if n.strip() or r.strip()
    )
    kept = [i for i, (n, r) in enumerate(zip(names, roles, strict=True)) if n.strip() or r.strip()]
    methods = form.getlist("participant_consent_method")
    given_by = form.getlist("participant_consent_by")
    if (methods and len(methods) != len(names)) or (given_by and len(given_by) != len(names)):
        raise BadInput("Say how consent was given for each participant; reload the form.")
    team = form.get("team_id", "").strip()
    return UploadDetails(
        consent_methods=tuple(methods[i] for i in kept) if methods else (),
        consent_given_by=tuple(given_by[i] for i in kept) if given_by else (),
        case_reference=form.get("case_reference", ""),
        visit_type=form.get("visit_type", ""),
        visit_date=form.get("visit_date", ""),
        participants=tuple(rows),
        consent=consent,
        team_id=int(team) if team.isdigit() else None,
        language=VisitLanguage(
            form.get("visit_language", ""),
            form.get("interpreter_present") == "yes",
            form.get("interpreter_name", ""),
        ),
    )


@bp.post("")
@login_required
def upload() -> Any:
    """Receive an uploaded or browser-made recording."""
    details = _details_from_form()
    audio = request.files.get("audio")
    if audio is None or not audio.filename:
        raise BadInput("Choose a recording to upload, or record one in the browser.")
    recording_id = create_recording(
        services(), current_user(), details, audio.stream, audio.filename
    )
    target = url_for("recordings.show", recording_id=recording_id)
    if wants_json():
        return jsonify(url=target), 201
    return redirect(target)


@bp.get("/<recording_id>")
@login_required
def show(recording_id: str) -> Any:
    """Processing progress; the review screen once the draft is ready."""
    rec, status = processing_of(services(), current_user(), recording_id)
    if rec.status in ("draft_ready", "approved"):
        return redirect(url_for("review.show", recording_id=recording_id))
    return render_template("recordings/show.html", rec=rec, status=status)


@bp.post("/<recording_id>/retry")
@login_required
def retry(recording_id: str) -> Any:
    """Queue a failed recording again, from the stage that failed."""
    _job_id, kind = retry_processing(services(), current_user(), recording_id)
    if wants_json():
        return jsonify(kind=kind), 202
    flash(
        "Drafting will be tried again; the transcript was kept."
        if kind == DRAFT
        else "The recording will be transcribed again."
    )
    return redirect(url_for("recordings.show", recording_id=recording_id))


@bp.get("/<recording_id>/status")
@login_required
def status(recording_id: str) -> Any:
    """Job progress as JSON, polled by the progress page."""
    rec, job = processing_of(services(), current_user(), recording_id)
    ready = rec.status in ("draft_ready", "approved")
    return jsonify(
        state=job.state if job else "none",
        kind=job.kind if job else "",
        stage=job.stage if job else "",
        percent=job.percent if job else 0,
        attempts=job.attempts if job else 0,
        error=job.error if job else None,
        review_url=url_for("review.show", recording_id=recording_id) if ready else None,
    )


@bp.get("/<recording_id>/audio")
@login_required
def audio(recording_id: str) -> Any:
    """The decrypted audio, streamed (with byte ranges so the player can seek)."""
    stream = open_audio(services(), current_user(), recording_id, request.headers.get("Range", ""))
    if not stream.satisfiable:
        return Response(status=416, headers={"Content-Range": f"bytes */{stream.size}"})
    headers = {"Accept-Ranges": "bytes", "Content-Length": str(stream.end - stream.start + 1)}
    if stream.partial:
        headers["Content-Range"] = f"bytes {stream.start}-{stream.end}/{stream.size}"
    return Response(
        stream.chunks,
        status=206 if stream.partial else 200,
        mimetype=stream.mimetype,
        headers=headers,
    )
