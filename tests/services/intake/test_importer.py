"""The CLI importer: a review-site CSV or a survey NDJSON, over real HTTP or straight into the database."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from services.intake import importer
from services.intake.models import Feedback, Outbox
from tests.services.intake.conftest import count
from tests.support import ROOT

CSV = (
    "external_id,rating,text,email,name,touchpoint,date,helpful_votes\n"
    "rv-1,1,\"Arrived broken,\nbox crushed\",kim@example.org,Kim,delivery,2026-03-01T10:00:00+00:00,4\n"
    "rv-2,5,দারুণ পরিষেবা 😊,,,,,\n"
    "rv-3,9,Too many stars,,,,,\n"
    "rv-4,4,,not-an-email,,,,\n"
    "rv-1,1,\"Arrived broken,\nbox crushed\",kim@example.org,Kim,delivery,2026-03-01T10:00:00+00:00,4\n"
)


@pytest.fixture
def server(intake: Any) -> Iterator[str]:
    """Intake's app on a real HTTP port (rate limit as in production: 1000/minute from the fixture)."""
    http = make_server("127.0.0.1", 0, intake.create_app(), threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.server_port}"
    http.shutdown()


def test_csv_over_http_stores_good_rows_and_reports_bad_ones_by_line(server: str, intake: Any,
                                                                     tmp_path: Path) -> None:
    path = tmp_path / "reviews.csv"
    path.write_text(CSV, encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "services.intake.importer", str(path), "--url", server,
                          "--token", "dev-integration-token", "--chunk", "2"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 1, run.stderr
    assert "2 received, 1 duplicates, 2 rejected" in run.stderr
    assert "line 5: rejected" in run.stderr and "rating" in run.stderr   # rv-3 ends on physical line 5
    assert "line 6: rejected" in run.stderr and "customer" in run.stderr
    with intake.sessions() as session:
        rows = {f.external_id: f for f in session.scalars(select(Feedback))}
    assert set(rows) == {"rv-1", "rv-2"}
    broken = rows["rv-1"]
    assert (broken.source, broken.rating, broken.customer_email, broken.touchpoint) == ("review", 1, "kim@example.org",
                                                                                         "delivery")
    assert broken.comment == "Arrived broken,\nbox crushed" and broken.extra == {"helpful_votes": "4", "date":
                                                                                  "2026-03-01T10:00:00+00:00"}
    assert rows["rv-2"].comment.encode() == "দারুণ পরিষেবা 😊".encode()
    assert count(intake, Outbox) == 2


@pytest.fixture
def direct(intake: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Intake, whose database the importer's ``--direct`` finds where an operator names it: INTAKE_DATABASE_URL."""
    monkeypatch.setenv("INTAKE_DATABASE_URL", intake.settings.database_url)
    return intake


def test_ndjson_directly_into_the_database(direct: Any, tmp_path: Path, capsys: Any) -> None:
    intake = direct
    lines = [json.dumps({"source": "survey", "survey": {"metric": "csat", "score": s}, "external_id": f"s-{s}"})
             for s in range(1, 6)]
    lines.insert(2, "{oops")
    path = tmp_path / "answers.ndjson"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert importer.main([str(path), "--direct"]) == 1
    err = capsys.readouterr().err
    assert "5 received, 0 duplicates, 1 rejected" in err and "line 3: rejected" in err
    assert count(intake, Feedback) == 5 and count(intake, Outbox) == 5
    assert importer.main([str(path), "--direct"]) == 1
    assert "0 received, 5 duplicates" in capsys.readouterr().err
    assert count(intake, Feedback) == 5


def test_a_clean_file_exits_zero_and_a_missing_one_two(direct: Any, tmp_path: Path) -> None:
    intake = direct
    path = tmp_path / "ok.jsonl"
    path.write_text(json.dumps({"comment": "fine"}) + "\n", encoding="utf-8")
    assert importer.main([str(path), "--direct", "--source", "chat"]) == 0
    with intake.sessions() as session:
        assert session.scalars(select(Feedback.source)).one() == "chat"
    assert importer.main([str(tmp_path / "missing.csv"), "--direct"]) == 2


def test_an_unreachable_intake_fails_clearly(tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importer.time, "sleep", lambda _s: None)
    path = tmp_path / "a.csv"
    path.write_text("rating\n3\n", encoding="utf-8")
    assert importer.main([str(path), "--url", "http://127.0.0.1:9"]) == 2
    assert "cannot reach" in capsys.readouterr().err


def test_a_blank_csv_row_is_skipped_not_rejected(direct: Any, tmp_path: Path, capsys: Any) -> None:
    intake = direct
    path = tmp_path / "reviews.csv"
    path.write_text("external_id,rating,comment\nr-1,2,Late parcel\n,,\n  ,, \nr-2,5,Lovely staff\n", encoding="utf-8")
    assert importer.main([str(path), "--direct"]) == 0
    err = capsys.readouterr().err
    assert "2 received, 0 duplicates, 0 rejected" in err and "rejected:" not in err
    assert count(intake, Feedback) == 2


def test_help_lists_the_csv_columns_with_an_example(capsys: Any) -> None:
    with pytest.raises(SystemExit) as exit_:
        importer.main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for column in ("external_id", "rating", "nps, csat, ces", "comment", "customer_email", "touchpoint",
                   "submitted_at", "metadata"):
        assert column in out
    assert "Example (reviews.csv):" in out and "r-1001,2," in out
