"""Nothing a person said or typed is ever on disk in plaintext."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from webapp import db

TYPED = "Quince marmalade arrangement agreed"
ADDENDUM = "Zebra crossing follow-up telephoned"


def _database_bytes(svc) -> bytes:
    url = svc.settings.database_url
    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[1])
        return b"".join(
            p.read_bytes() for p in path.parent.iterdir() if p.name.startswith(path.name)
        )
    # PostgreSQL's files belong to the server; read every row of every table instead.
    chunks = []
    with svc.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            for row in conn.execute(sa.select(table)):
                for value in row:
                    chunks.append(value if isinstance(value, bytes) else str(value).encode())
    return b"\n".join(chunks)


def _storage_bytes(svc) -> bytes:
    root = svc.vault.store.root
    return b"".join(p.read_bytes() for p in root.rglob("*") if p.is_file())


def test_spoken_and_typed_phrases_are_never_stored_in_plaintext(
    drafted, svc, login_as, state, resolve_all, web
):
    worker, recording_id = drafted
    version, work, _, _ = state(svc, recording_id)
    item_id = next(iter(work["items"]))
    response = worker.post_json(
        f"/notes/{recording_id}/items/{item_id}",
        {"action": "edit", "text": TYPED, "version": version},
    )
    assert response.status_code == 200
    approver = login_as("practitioner")
    version = resolve_all(approver, svc, recording_id)
    approved = approver.post_json(
        f"/notes/{recording_id}/approve", {"password": web.PASSWORD, "version": version}
    )
    assert approved.status_code == 200
    approver.post(f"/notes/{recording_id}/addenda", {"text": ADDENDUM})
    # The phrases are really there, for those allowed to read them...
    page = approver.get(f"/notes/{recording_id}").get_data(as_text=True)
    assert web.CANARY in page and TYPED in page and ADDENDUM in page
    # ...and nowhere on disk in plaintext.
    on_disk = _database_bytes(svc) + _storage_bytes(svc)
    for phrase in (web.CANARY, TYPED, ADDENDUM, "CR-2026-0042", "Sam Social Worker"):
        for variant in (phrase, phrase.lower(), phrase.upper()):
            assert variant.encode() not in on_disk, phrase
            assert variant.encode("utf-16-le") not in on_disk, phrase
    assert list((svc.vault.store.root / "plain").iterdir()) == []
