"""The review screen: draft beside transcript and audio; edits, approval, downloads."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from policies import BadInput, Conflict, Forbidden, InvalidTransition
from webapp.blueprints.review_page import page_sections, page_segments, spoken_language
from webapp.blueprints.sso import redirect_uri as sso_redirect_uri
from webapp.context import services
from webapp.forms import FormProblem, keeps_form
from webapp.services import approval, reauthentication
from webapp.services import notes as note_service
from webapp.services.access import may_do
from webapp.services.export_details import content_disposition
from webapp.services.exports import render_text
from webapp.services.handoff import hand_off_of, return_for_changes, send_for_approval
from webapp.services.history import note_history
from webapp.services.note_additions import add_statement, move_item
from webapp.services.note_files import approval_line, note_file
from webapp.services.recordings import participants_of
from webapp.services.speakers import rename_speaker
from webapp.web import current_user, login_required, wants_json

bp = Blueprint("review", __name__, url_prefix="/notes")


@bp.get("/<recording_id>")
@login_required
def show(recording_id: str) -> Any:
    """The review screen."""
    return _review_page(recording_id)


def _review_page(
    recording_id: str,
    kept: dict[str, str] | None = None,
    problem: FormProblem | None = None,
    refused_form: str = "",
) -> str:
    """The review screen; after a refusal, the form that was sent filled in again.

    Args:
        recording_id: The note's recording.
        kept: What was typed into the refused form.
        problem: Why it was refused.
        refused_form: Which form it was (``send``, ``return`` or ``addendum``).
    """
    loaded = note_service.load_note(services(), current_user(), recording_id)
    draft_state = loaded.note.state == "draft"
    approver = None if draft_state else approval_line(services(), loaded)
    return render_template(
        "review/show.html",
        loaded=loaded,
        rec=loaded.recording,
        meta=loaded.meta,
        sections=page_sections(loaded.draft, loaded.work),
        segments=page_segments(loaded.transcript, loaded.work),
        spoken=spoken_language(loaded.transcript),
        speakers=loaded.work["speakers"],
        blockers=loaded.blockers(),
        can_edit=draft_state and may_do(services(), current_user(), recording_id, "edit"),
        can_approve=draft_state and may_do(services(), current_user(), recording_id, "approve"),
        approve_error=session.pop("approve_error", None),
        signs_in_again=reauthentication.signs_in_again(services(), current_user()),
        can_addendum=not draft_state and may_do(services(), current_user(), recording_id, "edit"),
        approver=approver,
        handoff=hand_off_of(services(), loaded.recording, loaded.note.id) if draft_state else None,
        audio_days=services().policy.audio_days_after_approval,
        history=note_history(services(), loaded.recording, loaded.note.id, loaded.draft),
        participants=participants_of(services(), loaded.recording),
        approved_text=(
            None if draft_state else render_text(loaded.meta, loaded.draft, loaded.work)
        ),
        kept=kept or {},
        problem=problem,
        refused_form=refused_form,
    )


def _payload() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadInput("The request was not understood; reload the page.")
    try:
        data["version"] = int(data.get("version"))
    except (TypeError, ValueError):
        raise BadInput("The request did not say which version of the note it changes.") from None
    return data


@bp.post("/<recording_id>/items/<item_id>")
@login_required
def update_item(recording_id: str, item_id: str) -> Any:
    """Confirm, edit, delete or restore one statement (autosave from the page)."""
    data = _payload()
    action = str(data.get("action", ""))
    version, status = note_service.change_item(
        services(),
        current_user(),
        recording_id,
        item_id,
        action,
        data["version"],
        str(data.get("text", "")),
    )
    if action == "restore":  # back to how it stood before: the page needs to know
        return jsonify(version=version, status=status)
    return jsonify(version=version)


@bp.post("/<recording_id>/sections/<section_key>/statements")
@login_required
def add_item(recording_id: str, section_key: str) -> Any:
    """Add the practitioner's own statement at the end of a section."""
    data = _payload()
    version, item_id = add_statement(
        services(),
        current_user(),
        recording_id,
        section_key,
        str(data.get("text", "")),
        data["version"],
    )
    return jsonify(version=version, item=item_id)


@bp.post("/<recording_id>/items/<item_id>/move")
@login_required
def move(recording_id: str, item_id: str) -> Any:
    """Move a statement one place up or down within its section."""
    data = _payload()
    version = move_item(
        services(),
        current_user(),
        recording_id,
        item_id,
        str(data.get("direction", "")),
        data["version"],
    )
    return jsonify(version=version)


@bp.post("/<recording_id>/sections/<section_key>/reviewed")
@login_required
def section_reviewed(recording_id: str, section_key: str) -> Any:
    """Mark a section as reviewed."""
    data = _payload()
    version = note_service.mark_section_reviewed(
        services(), current_user(), recording_id, section_key, data["version"]
    )
    return jsonify(version=version)


@bp.post("/<recording_id>/speakers")
@login_required
def speakers(recording_id: str) -> Any:
    """Rename a speaker."""
    data = _payload()
    version, items = rename_speaker(
        services(),
        current_user(),
        recording_id,
        str(data.get("label", "")),
        str(data.get("name", "")),
        data["version"],
    )
    # The name goes into the draft's statements too: send them back for the page.
    return jsonify(version=version, items=items)


@bp.post("/<recording_id>/approve")
@login_required
def approve(recording_id: str) -> Any:
    """Approve after re-entering the password (or signing in again at the provider)."""
    form = request.get_json(silent=True) if request.is_json else request.form
    try:
        version = int(form.get("version", ""))
    except (TypeError, ValueError):
        raise BadInput("The approval did not say which version of the note it approves.") from None
    if reauthentication.signs_in_again(services(), current_user()) and not wants_json():
        return _sign_in_again_to_approve(recording_id, version)
    try:
        result = approval.approve_note(
            services(), current_user(), recording_id, str(form.get("password", "")), version
        )
    except (Forbidden, InvalidTransition, Conflict) as exc:
        if wants_json():
            raise
        # From the form: back to the note with the reason beside the password box, which
        # has the focus, not to an error page (the review so far is saved on the server).
        session["approve_error"] = f"Not approved: {exc}"
        return redirect(url_for("review.show", recording_id=recording_id) + "#approve-password")
    if wants_json():
        return jsonify(sha256=result.sha256, already=result.already)
    flash(
        "The note was already approved by you."
        if result.already
        else "The note is approved and locked."
    )
    return redirect(url_for("review.show", recording_id=recording_id))


def _sign_in_again_to_approve(recording_id: str, version: int) -> Any:
    """Send someone with no password to the provider to sign in again, then approve."""
    try:
        url = reauthentication.begin(
            services(), current_user(), recording_id, version, sso_redirect_uri()
        )
    except (Forbidden, InvalidTransition, Conflict) as exc:
        session["approve_error"] = f"Not approved: {exc}"
        return redirect(url_for("review.show", recording_id=recording_id) + "#approve-button")
    # A page that moves on, not a redirect: the pages' form-action 'self' would stop a
    # browser following a form's redirect to another site.
    return render_template("account/sign_in_again.html", provider_url=url)


def _form() -> tuple[Any, int]:
    """A form or JSON body, and the note version it was written against."""
    form: Any = request.get_json(silent=True) if request.is_json else request.form
    if not hasattr(form, "get"):
        raise BadInput("The request was not understood; reload the page.")
    try:
        return form, int(form.get("version", ""))
    except (TypeError, ValueError):
        raise BadInput("The request did not say which version of the note it changes.") from None


def _handed(recording_id: str, hand: Any, text_field: str, done: str) -> Any:
    """Run a hand-off from the form or a script; the form goes back to the note."""
    form, version = _form()
    version = hand(services(), current_user(), recording_id, str(form.get(text_field, "")), version)
    if wants_json():
        return jsonify(version=version)
    flash(done)
    return redirect(url_for("review.show", recording_id=recording_id) + "#handoff")


def _refused(form_name: str) -> Any:
    """Draws the review page again with the refused form ``form_name`` as it was typed."""

    def page(kept: dict[str, str], problem: FormProblem, recording_id: str) -> str:
        return _review_page(recording_id, kept, problem, form_name)

    return page


@bp.post("/<recording_id>/send-for-approval")
@login_required
@keeps_form(_refused("send"))
def send(recording_id: str) -> Any:
    """The social worker sends the checked draft for approval, with an optional message."""
    return _handed(
        recording_id,
        send_for_approval,
        "message",
        "The note was sent for approval: it is on the approvers' list as ready for approval.",
    )


@bp.post("/<recording_id>/return")
@login_required
@keeps_form(_refused("return"))
def give_back(recording_id: str) -> Any:
    """An approver returns a draft sent for approval, with a comment for the worker."""
    return _handed(
        recording_id,
        return_for_changes,
        "comment",
        "The note was returned to the social worker with your comment.",
    )


@bp.post("/<recording_id>/addenda")
@login_required
@keeps_form(_refused("addendum"))
def addendum(recording_id: str) -> Any:
    """Add an addendum to an approved note."""
    approval.add_addendum(services(), current_user(), recording_id, request.form.get("text", ""))
    flash("The addendum was added.")
    return redirect(url_for("review.show", recording_id=recording_id))


def _download(recording_id: str, fmt: str) -> Response:
    """An approved note as a file to save, named by case reference, visit type and date."""
    note = note_file(services(), current_user(), recording_id, fmt, current_app.json.dumps)
    return Response(
        note.body,
        mimetype=note.mimetype,
        headers={"Content-Disposition": content_disposition(note.filename)},
    )


@bp.get("/<recording_id>/note.txt")
@login_required
def download_text(recording_id: str) -> Any:
    """The approved note as plain text (with any addenda)."""
    return _download(recording_id, "txt")


@bp.get("/<recording_id>/note.docx")
@login_required
def download_docx(recording_id: str) -> Any:
    """The approved note as a Word document."""
    return _download(recording_id, "docx")


@bp.get("/<recording_id>/note.pdf")
@login_required
def download_pdf(recording_id: str) -> Any:
    """The approved note as a PDF."""
    return _download(recording_id, "pdf")


@bp.get("/<recording_id>/note.json")
@login_required
def download_json(recording_id: str) -> Any:
    """The approved note as JSON for a case-management system's import."""
    return _download(recording_id, "json")
