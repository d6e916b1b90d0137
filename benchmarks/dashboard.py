"""The team dashboard over many approved notes: stored review figures against decrypting.

Makes one real draft (a real recording through the real models, as the background job
does), then copies it into ``--notes`` approved notes, each re-encrypted under its own
recording's key as a real note is, with a share of its statements edited. It then
times the dashboard two ways, on the same notes:

- **stored**: each note's review figures were stored at approval (what carenotes does
  now), so the dashboard decrypts nothing;
- **decrypting**: the stored figures are cleared first, so each note is decrypted and
  its AI draft compared with the approved text, as the dashboard did before.

Usage::

    .venv/bin/python benchmarks/dashboard.py --notes 500
    .venv/bin/python benchmarks/dashboard.py --notes 500 --database-url postgresql+psycopg://postgres@127.0.0.1:5432/carenotes_bench
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# Run as a script, this folder comes first on the path, and its transcribe.py would hide
# the transcribe package: put the repository there instead.
if sys.path and Path(sys.path[0]).resolve() == REPO / "benchmarks":
    sys.path[0] = str(REPO)

import sqlalchemy as sa  # noqa: E402

RECORDING = REPO / "tests" / "data" / "two_speakers_sample.wav"


def _first_note(svc: Any, user: Any) -> str:
    from webapp.pipeline import run_one_job
    from webapp.services.recordings import UploadDetails, create_recording

    details = UploadDetails(
        "CR-1",
        "home-visit",
        "2026-03-14",
        (("Worker", "Social worker"), ("Person", "Person")),
        (True, True),
    )
    with RECORDING.open("rb") as handle:
        recording_id = create_recording(svc, user, details, handle, RECORDING.name)
    while run_one_job(svc) is not None:
        pass
    return recording_id


def _copy(svc: Any, source: str, count: int, approver: int) -> None:
    """``count`` approved copies of the source note, each under a fresh key and id."""
    from webapp import db
    from webapp.services.dashboard import review_figures
    from webapp.services.sealed_notes import open_draft

    vault = svc.vault
    with svc.engine.connect() as conn:
        rec = conn.execute(sa.select(db.recordings).where(db.recordings.c.id == source)).one()
        note = conn.execute(sa.select(db.notes).where(db.notes.c.recording_id == source)).one()
        conn.rollback()
    key = vault.data_key(rec.id, rec.wrapped_key)
    draft = vault.open_json(key, "note", note.id, "draft", note.draft_enc)
    work = vault.open_json(key, "note", note.id, "work", note.work_enc)
    transcript = vault.open_json(key, "note", note.id, "transcript", note.transcript_enc)
    participants = vault.open_json(key, "recording", rec.id, "participants", rec.participants_enc)
    drafted = open_draft(vault, key, note.id, note.draft_enc)
    now = db.utcnow()
    with svc.engine.begin() as conn:
        for index in range(count):
            rid, nid = uuid.uuid4().hex, uuid.uuid4().hex
            new_key, wrapped = vault.new_key(rid)
            items = {k: dict(v) for k, v in work["items"].items()}
            for position, item in enumerate(items.values()):
                item["status"] = "confirmed" if item["flagged"] else "ok"
                if (position + index) % 4 == 0:  # a quarter of statements edited
                    item["text"] = item["text"] + " (checked with the family)"
                    item["status"] = "edited"
            reviewed = {**work, "items": items, "reviewed": [s["key"] for s in draft["sections"]]}
            conn.execute(
                sa.insert(db.recordings).values(
                    **{
                        **rec._asdict(),
                        "id": rid,
                        "case_ref_enc": vault.seal(
                            new_key, "recording", rid, "case_reference", f"CR-{index}"
                        ),
                        "participants_enc": vault.seal(
                            new_key, "recording", rid, "participants", participants
                        ),
                        "wrapped_key": wrapped,
                        "audio_blob": None,
                        "status": "approved",
                    }
                )
            )
            conn.execute(
                sa.insert(db.notes).values(
                    **{
                        **note._asdict(),
                        "id": nid,
                        "recording_id": rid,
                        "transcript_enc": vault.seal(
                            new_key, "note", nid, "transcript", transcript
                        ),
                        "draft_enc": vault.seal(new_key, "note", nid, "draft", draft),
                        "work_enc": vault.seal(new_key, "note", nid, "work", reviewed),
                        "state": "approved",
                        "approved_by": approver,
                        "approved_at": now,
                        "approved_sha256": "0" * 64,
                        "approved_text_enc": vault.seal(
                            new_key, "note", nid, "approved_text", "approved text"
                        ),
                        "review_figures": review_figures(drafted, reviewed),
                    }
                )
            )


def _time(svc: Any, manager: Any, runs: int, clear: bool) -> list[float]:
    from webapp import db
    from webapp.services.dashboard import DashboardFilter, dashboard

    times = []
    for _ in range(runs):
        if clear:
            with svc.engine.begin() as conn:
                conn.execute(sa.update(db.notes).values(review_figures=None))
        started = time.perf_counter()
        shown = dashboard(svc, manager, DashboardFilter())
        times.append(time.perf_counter() - started)
    assert len(shown.notes) >= 1  # noqa: S101 - a benchmark that measured nothing is wrong
    return times


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--notes", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database-url", default="", help="default: SQLite in a temporary folder")
    args = parser.parse_args(argv)

    from webapp import create_app, db
    from webapp.crypto import KeyRing, MasterKey, generate_master_key
    from webapp.services.auth import CurrentUser
    from webapp.services.users import create_user

    with tempfile.TemporaryDirectory(prefix="carenotes-dashboard-") as folder:
        config = {
            "SECRET_KEY": "benchmark-secret-" + uuid.uuid4().hex,
            "INSTANCE_PATH": folder,
            "KEYRING": KeyRing(MasterKey.from_text(generate_master_key(), source="benchmark")),
            "RUN_WORKER": False,
            "PASSWORD_TIME_COST": 1,
            "PASSWORD_MEMORY_KIB": 1024,
        }
        if args.database_url:
            config["DATABASE_URL"] = args.database_url
        svc = create_app(config).extensions["carenotes"]
        worker_id = create_user(svc, "sam", "correct horse battery", "social_worker", ["B"])
        manager_id = create_user(svc, "meg", "correct horse battery", "manager", ["B"])
        with svc.engine.connect() as conn:
            team = conn.scalar(sa.select(db.teams.c.id))

        def user(uid: int, role: str) -> CurrentUser:
            return CurrentUser(uid, role, role, svc.policy.role(role), frozenset({team}))

        started = time.perf_counter()
        source = _first_note(svc, user(worker_id, "social_worker"))
        draft_s = time.perf_counter() - started
        _copy(svc, source, args.notes, manager_id)
        manager = user(manager_id, "manager")
        stored = _time(svc, manager, args.runs, clear=False)
        decrypting = _time(svc, manager, args.runs, clear=True)
        result = {
            "database": svc.engine.dialect.name,
            "approved_notes": args.notes,
            "first_draft_s": round(draft_s, 1),
            "stored_median_s": round(statistics.median(stored), 3),
            "decrypting_median_s": round(statistics.median(decrypting), 3),
            "speed_up": round(statistics.median(decrypting) / statistics.median(stored), 1),
        }
        svc.engine.dispose()
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
