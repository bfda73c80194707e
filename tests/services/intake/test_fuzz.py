"""Schemathesis fuzzes every operation of intake's OpenAPI, in process: no input may cause a 5xx."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from services.intake.app import Intake

OPERATIONS = ["POST /api/v1/feedback", "POST /api/v1/feedback/batch", "GET /api/v1/feedback/{feedback_id}"]


@pytest.mark.parametrize("label", OPERATIONS)
def test_no_input_causes_a_server_error(intake: Intake, label: str) -> None:
    app = intake.create_app()
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    operations = {op.label: op for op in (result.ok() for result in schema.get_all_operations())}
    assert set(OPERATIONS) == {label for label in operations if label.split(" ")[1].startswith("/api/")}
    operation = operations[label]

    @given(case=operation.as_strategy(), with_token=st.booleans())
    @settings(max_examples=60, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def fuzz(case: Any, with_token: bool) -> None:
        # with a token the authenticated paths are reached; without, the public ones
        headers = {"Authorization": "Bearer dev-integration-token"} if with_token else {}
        case.call_and_validate(headers=headers, checks=[not_a_server_error])

    fuzz()


def test_the_document_covers_every_intake_operation_with_examples(intake: Intake) -> None:
    spec = intake.create_app().test_client().get("/openapi.json").get_json()
    assert {"/api/v1/feedback", "/api/v1/feedback/batch", "/api/v1/feedback/{feedback_id}"} <= set(spec["paths"])
    single = spec["paths"]["/api/v1/feedback"]["post"]["requestBody"]["content"]["application/json"]
    assert single["example"]["survey"] == {"metric": "nps", "score": 4}
    batch = spec["paths"]["/api/v1/feedback/batch"]["post"]["requestBody"]["content"]
    assert {"application/json", "application/x-ndjson"} <= set(batch) and batch["application/json"]["example"]
    survey = spec["components"]["schemas"]["SurveyIn"]["properties"]
    assert survey["metric"]["enum"] == ["ces", "csat", "nps"]
