"""Import an export from a review site or survey tool (CSV or NDJSON) into intake.

    python -m services.intake.importer reviews.csv --url http://127.0.0.1:8001 --token <integration token>
    python -m services.intake.importer answers.ndjson --direct      # straight into INTAKE_DATABASE_URL

Over HTTP the rows go to ``POST /api/v1/feedback/batch`` in chunks (an integration token lifts
the public rate limit); with ``--direct`` they are validated by the same schema and written with
their outbox events to intake's database, and a running intake publishes them. Either way each
row is stored on its own, repeats (same source and ``external_id``) are recognised, and every
rejected row is reported with its line number and the fields at fault.

CSV columns: ``source``, ``external_id``, ``rating``, ``nps``/``csat``/``ces`` (or ``metric`` and
``score``), ``comment`` (or ``text``, ``review``, ``body``), ``customer_id``, ``customer_email``
(or ``email``), ``customer_name`` (or ``name``), ``touchpoint``, ``product``, ``locale``,
``submitted_at``, ``in_reply_to``, ``metadata`` (a JSON object). Other columns are kept in
``metadata``. Empty cells are ignored.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from services.intake.batch import ItemError

ALIASES = {"text": "comment", "review": "comment", "body": "comment", "email": "customer_email",
           "name": "customer_name"}
CUSTOMER = {"customer_id": "id", "customer_email": "email", "customer_name": "name"}
PLAIN = ("source", "external_id", "comment", "touchpoint", "product", "locale", "submitted_at", "in_reply_to")
METRIC_COLUMNS = ("nps", "csat", "ces")


COLUMNS_HELP = """\
CSV columns (a header row names them; any order; empty cells are ignored):
  source          survey, review, form, email, chat or social (default: --source)
  external_id     the review site's or survey tool's own id (repeats are recognised)
  rating          1-5 stars
  nps, csat, ces  a score in that metric's column (or: metric and score columns)
  comment         the customer's words (also: text, review, body)
  customer_id, customer_email (or email), customer_name (or name)
  touchpoint, product, locale, submitted_at (ISO 8601), in_reply_to (a ticket id)
  metadata        a JSON object; any other column is kept in metadata too

Example (reviews.csv):
  external_id,rating,comment,email,touchpoint,submitted_at
  r-1001,2,"The parcel came a week late",kim@example.org,delivery,2026-11-30T09:15:00Z
  r-1002,5,"Lovely people at the counter",,store,2026-11-30T10:02:00Z

NDJSON: one API feedback body (as POST /api/v1/feedback takes it) per line. Blank rows are skipped.
"""


class ImportFailed(Exception):
    """The import cannot go on (unreadable file, intake refusing the whole request)."""


@dataclass
class Record:
    line: int
    item: Any


@dataclass
class Tally:
    received: int = 0
    duplicates: int = 0
    rejected: list[tuple[int, Any]] = field(default_factory=list)


def _number(value: str) -> Any:
    value = value.strip()
    return int(value) if value.lstrip("-").isdigit() and len(value) < 10 else value


def row_to_feedback(row: dict[str, str], *, default_source: str) -> dict[str, Any]:
    """One CSV row as an API feedback body."""
    item: dict[str, Any] = {}
    customer: dict[str, str] = {}
    metadata: dict[str, Any] = {}
    for raw_name, raw_value in row.items():
        if raw_name is None or raw_value is None or not str(raw_value).strip():
            continue
        name = ALIASES.get(raw_name.strip().lower(), raw_name.strip().lower())
        value = str(raw_value)
        if name in PLAIN:
            item[name] = value if name == "comment" else value.strip()
        elif name in CUSTOMER:
            customer[CUSTOMER[name]] = value.strip()
        elif name == "rating":
            item["rating"] = _number(value)
        elif name in METRIC_COLUMNS:
            item["survey"] = {"metric": name, "score": _number(value)}
        elif name in ("metric", "score"):
            item.setdefault("survey", {})[name] = _number(value) if name == "score" else value.strip().lower()
        elif name == "metadata":
            try:
                metadata.update(json.loads(value))
            except (ValueError, TypeError):
                metadata["metadata"] = value
        else:
            metadata[raw_name.strip()] = value
    item.setdefault("source", default_source)
    if customer:
        item["customer"] = customer
    if metadata:
        item["metadata"] = metadata
    return item


def read_records(path: Path, *, default_source: str) -> list[Record]:
    """Every row of a CSV or NDJSON file, with its line number."""
    kind = "csv" if path.suffix.lower() in (".csv", ".tsv") else "ndjson"
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFailed(f"cannot read {path}: {exc}") from exc
    records: list[Record] = []
    if kind == "csv":
        delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
        reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
        for row in reader:
            if not any(str(value or "").strip() for value in row.values()):
                continue  # a blank row (only separators) is nothing to import, not a rejected one
            records.append(Record(reader.line_num, row_to_feedback(row, default_source=default_source)))
        return records
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            records.append(Record(number, ItemError({"line": [f"not valid JSON: {exc}"]})))
            continue
        if isinstance(item, dict):
            item.setdefault("source", default_source)
        records.append(Record(number, item))
    return records


def chunks(records: list[Record], size: int) -> Iterator[list[Record]]:
    """``records`` in consecutive slices of at most ``size``."""
    for start in range(0, len(records), size):
        yield records[start:start + size]


def send_http(url: str, token: str | None, items: list[Any], *, attempts: int = 5) -> list[dict[str, Any]]:
    """POST one chunk to the batch endpoint; retry on 429 (after Retry-After), 5xx and lost connections."""
    body = json.dumps(items, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    endpoint = url.rstrip("/") + "/api/v1/feedback/batch"
    for attempt in range(1, attempts + 1):
        request = urllib.request.Request(endpoint, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return json.loads(response.read())["items"]
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            if (exc.code == 429 or exc.code >= 500) and attempt < attempts:
                time.sleep(float(exc.headers.get("Retry-After") or 2 ** attempt))
                continue
            raise ImportFailed(f"intake answered {exc.code}: {detail}") from exc
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            if attempt < attempts:
                time.sleep(2 ** attempt)
                continue
            raise ImportFailed(f"cannot reach {endpoint}: {exc}") from exc
    raise ImportFailed("unreachable")  # pragma: no cover - the loop returns or raises


class DirectWriter:
    """Writes chunks straight into intake's database (``INTAKE_DATABASE_URL``)."""

    def __init__(self) -> None:
        from services.intake.config import load_settings
        from services.intake.handlers import FeedbackStore
        from shared.db import make_engine, make_writer

        # no relay here: the running services' relays find the rows in the outbox and publish them
        self.store = FeedbackStore(make_writer(make_engine(load_settings().database_url, durable_commits=True)))

    def __call__(self, items: list[Any]) -> list[dict[str, Any]]:
        outcomes = self.store.store_batch(items, now=datetime.now(UTC))
        results = []
        for outcome in outcomes:
            if outcome.accepted is None:
                results.append({"status": "rejected", "errors": outcome.errors})
            else:
                status = "duplicate" if outcome.accepted.duplicate else "received"
                results.append({"status": status, "id": outcome.accepted.feedback.id})
        return results


def run_import(records: list[Record], send: Any, *, chunk_size: int, console: Console) -> Tally:
    """Send every record, chunk by chunk, with a progress bar; count what became of each."""
    tally = Tally()
    columns = (TextColumn("[bold]importing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("import", total=len(records))
        for chunk in chunks(records, chunk_size):
            sendable = [r for r in chunk if not isinstance(r.item, ItemError)]
            for record in chunk:
                if isinstance(record.item, ItemError):
                    tally.rejected.append((record.line, record.item.errors))
            results = send([r.item for r in sendable]) if sendable else []
            for record, result in zip(sendable, results, strict=True):
                if result["status"] == "received":
                    tally.received += 1
                elif result["status"] == "duplicate":
                    tally.duplicates += 1
                else:
                    tally.rejected.append((record.line, result.get("errors")))
            progress.advance(task, len(chunk))
    return tally


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, import, print a summary; exit 0 if every row was stored or known, 1 if some
    were rejected, 2 if the import could not run."""
    parser = argparse.ArgumentParser(prog="python -m services.intake.importer", description=__doc__.split("\n")[0],
                                     epilog=COLUMNS_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", type=Path, help="a .csv (or .tsv) or .ndjson/.jsonl export")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", help="intake's base URL, e.g. http://127.0.0.1:8001")
    where.add_argument("--direct", action="store_true", help="write to INTAKE_DATABASE_URL instead of HTTP")
    parser.add_argument("--token", help="an integration token from the org file (needed over HTTP: batches are "
                                        "for integrations)")
    parser.add_argument("--source", default="review", help="source of rows that do not name one (default: review)")
    parser.add_argument("--chunk", type=int, default=500, help="rows per batch request (1-1000, default 500)")
    args = parser.parse_args(argv)
    console = Console(stderr=True)
    if not 1 <= args.chunk <= 1000:
        parser.error("--chunk must be between 1 and 1000")
    try:
        records = read_records(args.file, default_source=args.source)
        send = DirectWriter() if args.direct else (lambda items: send_http(args.url, args.token, items))
        tally = run_import(records, send, chunk_size=args.chunk, console=console)
    except ImportFailed as exc:
        console.print(f"[red]import failed:[/red] {exc}")
        return 2
    for line, errors in tally.rejected:
        console.print(f"line {line}: rejected: {json.dumps(errors, ensure_ascii=False)}", markup=False)
    console.print(f"{tally.received} received, {tally.duplicates} duplicates, {len(tally.rejected)} rejected "
                  f"(of {len(records)} rows in {args.file.name})", markup=False)
    return 1 if tally.rejected else 0


if __name__ == "__main__":
    sys.exit(main())
