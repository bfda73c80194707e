"""Intake's JSON API: accept feedback one at a time or in batches, report where it is."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from flask import Response, current_app, request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

from services.intake import handlers, queries
from services.intake import metrics as intake_metrics
from services.intake.batch import NDJSON_TYPES, BatchError, parse_batch
from services.intake.models import Feedback
from services.intake.schemas import BATCH_EXAMPLE, FEEDBACK_EXAMPLE, AcceptedOut, BatchOut, FeedbackIn, FeedbackOut
from shared.auth import bearer_token, org, require
from shared.metrics import child
from shared.problems import Problem

blp = Blueprint("feedback", __name__, url_prefix="/api/v1", description="Customer feedback")

JSON_TYPES = ("application/json",)
BATCH_MAX_BYTES = 16 * 1024 * 1024


def _session() -> Any:
    return current_app.extensions["closeloop_sessions"]()


def feedback_store() -> handlers.FeedbackStore:
    """The app's :class:`~services.intake.handlers.FeedbackStore`."""
    store: handlers.FeedbackStore = current_app.extensions["closeloop_store"]
    return store


_SLOT = "0closeloop0"  # stands for the id or token in a link's cached path; both are URL-safe as they are


def _link_paths() -> tuple[str, str]:
    """The paths of a feedback's two links, with :data:`_SLOT` for its id and token; built once per script root.

    Building them with ``url_for`` for every answer was about a tenth of an accepted
    submission's CPU time; ids (UUIDs) and status tokens (URL-safe base64) need no quoting.
    """
    cache: dict[str, tuple[str, str]] = current_app.extensions.setdefault("closeloop_link_paths", {})
    paths = cache.get(request.script_root)
    if paths is None:
        paths = cache[request.script_root] = (url_for("feedback.FeedbackItem", feedback_id=_SLOT),
                                              url_for("pages.status", token=_SLOT))
    return paths


_BASES_KEPT = 64  # the Host header is the client's to choose: the cache of bases stays small


def base_url() -> str:
    """``PUBLIC_URL``, or the URL the request came to without its path if its host is trusted; once per host.

    The Host header is the client's to choose: a host outside ``TRUSTED_LINK_HOSTS``
    (INTAKE_TRUSTED_HOSTS) never appears in a link; the first trusted host stands in for it.
    ``request.host_url`` parses and checks the host for every request (a few percent of an
    accepted submission's CPU time); it depends only on the scheme, the host and the script root.
    """
    public = current_app.config.get("PUBLIC_URL")
    if public:
        return str(public).rstrip("/")
    environ = request.environ
    key = (environ.get("wsgi.url_scheme"), environ.get("HTTP_HOST"), environ.get("SERVER_NAME"),
           environ.get("SERVER_PORT"), request.script_root)
    cache: dict[tuple[Any, ...], str] = current_app.extensions.setdefault("closeloop_base_urls", {})
    base = cache.get(key)
    if base is None:
        if len(cache) >= _BASES_KEPT:
            cache.clear()
        base = cache[key] = _trusted_base()
    return base


def _trusted_base() -> str:
    trusted = tuple(current_app.config.get("TRUSTED_LINK_HOSTS") or ("localhost",))
    host = request.host.lower()
    name = host[:host.index("]") + 1] if host.startswith("[") and "]" in host else host.split(":", 1)[0]
    if name in trusted:
        return str(request.host_url[:-1])
    return f"{request.scheme}://{trusted[0]}{request.script_root}"


def links_for(feedback: handlers.Receipt) -> dict[str, str]:
    """Absolute links to a feedback's status (API) and its customer status page."""
    base = base_url()
    item, status_page = _link_paths()
    return {"self": base + item.replace(_SLOT, feedback.id),
            "status_page": base + status_page.replace(_SLOT, feedback.status_token)}


def integration_caller() -> bool:
    """Whether the request carries the token of an integration from the org file (a survey tool, an importer)."""
    token = bearer_token()
    return token is not None and org().integration_by_token(token) is not None


def require_integration() -> None:
    """Refuse a request without an integration's token: 401 without one or with an unknown one, 403 for a user's."""
    token = bearer_token()
    if token is None:
        raise Problem(401, "Unauthorized",
                      "Batches need an integration token: send 'Authorization: Bearer <token>'.",
                      errors={"Authorization": ["an integration token is required"]})
    if not integration_caller():
        known = org().user_by_token(token) is not None
        raise Problem(403 if known else 401, "Forbidden" if known else "Unauthorized",
                      "Batches need an integration token.",
                      errors={"Authorization": ["not an integration's token" if known else "unknown token"]})


def refuse_answers_from_strangers(data: dict[str, Any]) -> None:
    """Refuse (403, naming each field) what only an integration may send: follow-ups, answers on a ticket.

    Anyone could otherwise reopen or close any resolved ticket whose id they learnt. Customers
    answer through the signed links and pages intake gives them, which store these themselves.
    """
    errors: dict[str, Any] = {}
    if data.get("source") == "follow_up":
        errors["source"] = ["follow_up needs an integration token"]
    if data.get("in_reply_to") is not None:
        errors["in_reply_to"] = ["answering a ticket needs an integration token"]
    if isinstance(data.get("metadata"), dict) and "answer" in data["metadata"]:
        errors["metadata"] = {"answer": ["an answer on a ticket needs an integration token"]}
    if errors:
        raise Problem(403, "Forbidden", "Only an integration may send this; send its token as "
                      "'Authorization: Bearer <token>'.", errors=errors)


def submit(data: dict[str, Any], idempotency_key: str | None) -> tuple[handlers.Accepted, dict[str, Any]]:
    """Store one feedback (or find the one it repeats) and build the client's answer."""
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= 200:
        raise Problem(400, "Bad Request", "Idempotency-Key must be 1 to 200 characters.",
                      errors={"Idempotency-Key": ["must be 1 to 200 characters"]})
    try:
        accepted = feedback_store().store(data, idempotency_key=idempotency_key, now=datetime.now(UTC))
    except handlers.IdempotencyConflict as exc:
        raise Problem(409, "Conflict", "This Idempotency-Key was already used with a different body.",
                      errors={"Idempotency-Key": [f"{exc} was used with a different body"]}) from exc
    intake_metrics.stored(source=accepted.feedback.source, duplicate_kind=accepted.duplicate_kind)
    status = "duplicate" if accepted.duplicate else "received"
    return accepted, {"id": accepted.feedback.id, "status": status, "links": links_for(accepted.feedback)}


@blp.before_request
def _readable_body() -> None:
    """Refuse bodies that are not JSON (415), too large (413) or not parseable (400), naming why."""
    if request.method != "POST":
        return
    batch = request.endpoint == "feedback.FeedbackBatch"
    if batch:
        require_integration()  # authenticate first: a stranger learns nothing about what a good body is
    allowed = JSON_TYPES + NDJSON_TYPES if batch else JSON_TYPES
    if request.mimetype not in allowed:
        raise Problem(415, "Unsupported Media Type", f"Send the body as {' or '.join(allowed)}.",
                      errors={"Content-Type": [f"must be {' or '.join(allowed)}, not {request.mimetype or 'missing'}"]})
    if batch:
        request.max_content_length = BATCH_MAX_BYTES
        return
    try:
        request.get_json()
    except RequestEntityTooLarge as exc:
        raise too_large("1 MiB") from exc
    except RecursionError as exc:
        raise Problem(400, "Bad Request", "The body is nested too deeply.",
                      errors={"body": ["JSON nested too deeply"]}) from exc
    except BadRequest as exc:
        raise Problem(400, "Bad Request", "The body is not valid JSON.",
                      errors={"body": ["not valid JSON (or not UTF-8)"]}) from exc


def too_large(limit: str) -> Problem:
    """The 413 answer to a body over ``limit``."""
    return Problem(413, "Content Too Large", f"The body is larger than {limit}.",
                   errors={"body": [f"larger than {limit}"]})


@blp.after_request
def _count(response: Any) -> Any:
    if request.method == "POST":
        child(intake_metrics.RECEIVED, "batch" if request.endpoint == "feedback.FeedbackBatch" else "api").inc()
        if response.status_code in intake_metrics.REASONS:
            intake_metrics.rejected(intake_metrics.REASONS[response.status_code])
    return response


@blp.route("/feedback")
class FeedbackCollection(MethodView):
    @blp.arguments(FeedbackIn(), location="json", example=FEEDBACK_EXAMPLE)
    @blp.response(202, AcceptedOut, example={"id": "3f1c0b7e-8a52-4a51-9b53-0c8f2b1d9e10", "status": "received",
                                             "links": {"self": "https://intake.example.com/api/v1/feedback/3f1c…",
                                                       "status_page": "https://intake.example.com/status/…"}})
    @blp.alt_response(403, description="follow_up, in_reply_to or metadata.answer without an integration token")
    @blp.alt_response(409, description="The Idempotency-Key was used with a different body")
    @blp.alt_response(413, description="The body is larger than 1 MiB")
    @blp.alt_response(415, description="The body is not application/json")
    @blp.alt_response(429, description="Too many requests from this address; see Retry-After")
    def post(self, data: dict[str, Any]) -> Response:
        """Give feedback.

        Answers 202 once the feedback is stored; it is published to the organisation right
        after. A repeated ``Idempotency-Key`` with the same body, or a repeated
        ``(source, external_id)``, returns the first answer (``status: duplicate``) and
        stores nothing new. Bad input gets ``application/problem+json`` whose ``errors``
        names each bad field. ``source: follow_up``, ``in_reply_to`` and ``metadata.answer``
        need an integration token.
        """
        if not integration_caller():
            refuse_answers_from_strangers(data)
        _, body = submit(data, request.headers.get("Idempotency-Key"))
        # already in AcceptedOut's shape: encoded here, not dumped through the schema and jsonify
        # again (the decorator above still documents it); that was 4 % of a submission's CPU time
        return Response(_ANSWER_ENCODER.encode(body), status=202, mimetype="application/json")


_ANSWER_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


@blp.route("/feedback/batch")
class FeedbackBatch(MethodView):
    @blp.doc(requestBody={
        "required": True,
        "description": "Up to 1,000 feedback objects, as a JSON array or as NDJSON (one object a line).",
        "content": {
            "application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/FeedbackIn"},
                                            "maxItems": 1000}, "example": BATCH_EXAMPLE},
            "application/x-ndjson": {"schema": {"type": "string"},
                                     "example": "\n".join(json.dumps(i) for i in BATCH_EXAMPLE)},
        },
    })
    @blp.response(200, BatchOut)
    @blp.alt_response(401, description="No integration token, or an unknown one")
    @blp.alt_response(403, description="A token that is not an integration's")
    @blp.alt_response(413, description="More than 1,000 items, or a body over 16 MiB")
    @blp.alt_response(415, description="The body is neither JSON nor NDJSON")
    @blp.alt_response(429, description="Too many requests from this address; see Retry-After")
    def post(self) -> dict[str, Any]:
        """Give many feedback at once (imports from review sites and survey tools).

        Each item is validated and stored on its own: valid items are stored even when others
        are bad, and no item is ever half-stored. The answer lists, per item in order, its
        id (``received`` or ``duplicate``) or its ``errors``. Batches need an integration token.
        """
        require_integration()
        settings = current_app.extensions["closeloop_settings"]
        try:
            body = request.get_data()
        except RequestEntityTooLarge as exc:
            raise too_large("16 MiB") from exc
        try:
            items = parse_batch(body, ndjson=request.mimetype in NDJSON_TYPES, max_items=settings.max_batch)
        except BatchError as exc:
            raise Problem(exc.status, "Bad Batch", exc.detail, errors=exc.errors) from exc
        intake_metrics.RECEIVED.labels("batch").inc(len(items) - 1)  # the request itself was counted once
        return batch_answer(feedback_store().store_batch(items, now=datetime.now(UTC)))


def batch_answer(outcomes: list[handlers.ItemOutcome]) -> dict[str, Any]:
    """The per-item answer to a batch, counting each outcome in the metrics."""
    results: list[dict[str, Any]] = []
    counts = {"received": 0, "duplicate": 0, "rejected": 0}
    for outcome in outcomes:
        if outcome.accepted is None:
            results.append({"index": outcome.index, "status": "rejected", "errors": outcome.errors})
            counts["rejected"] += 1
            continue
        feedback = outcome.accepted.feedback
        intake_metrics.stored(source=feedback.source, duplicate_kind=outcome.accepted.duplicate_kind)
        status = "duplicate" if outcome.accepted.duplicate else "received"
        counts[status] += 1
        results.append({"index": outcome.index, "status": status, "id": feedback.id, "links": links_for(feedback)})
    intake_metrics.rejected("invalid", counts["rejected"])
    return {"received": counts["received"], "duplicates": counts["duplicate"], "rejected": counts["rejected"],
            "items": results}


@blp.route("/feedback/<feedback_id>")
class FeedbackItem(MethodView):
    @blp.response(200, FeedbackOut)
    @blp.alt_response(401, description="No token, or an unknown one")
    @blp.alt_response(404, description="No feedback with this id")
    @require()
    def get(self, feedback_id: str) -> dict[str, Any]:
        """Where a feedback is: received, published, then its ticket and the ticket's state."""
        with _session() as session:
            feedback = session.get(Feedback, feedback_id)
            if feedback is None:
                raise Problem(404, "Not Found", f"No feedback with id {feedback_id}.")
            return queries.feedback_status(session, feedback)
