"""Owners chosen with common sense: never the person a complaint names, employees before leads,
``max_open`` per member, and never a ticket without an owner."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.triage.routing.models import Assignee
from services.triage.routing.names import NameIndex
from services.triage.tickets.models import Ticket
from shared.org import OrgConfigError, User, load_org
from tests.services.triage.test_handlers import feedback_event, handle
from tests.support import ORG


def complaint(triage: Any, comment: str | None = None, **data: Any) -> Ticket:
    ticket = handle(triage, feedback_event(survey={"metric": "nps", "score": 2}, comment=comment, **data))
    assert ticket is not None
    return ticket


def org_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **changes: dict[str, Any]) -> Path:
    """The demo org with some users' fields changed (``u_tom={"max_open": 2}``), used by the next Triage."""
    raw = yaml.safe_load(ORG.read_text())
    for user in raw["users"]:
        user.update(changes.get(user["id"].replace("-", "_"), {}))
    path = tmp_path / "org.yaml"
    path.write_text(yaml.safe_dump(raw))
    monkeypatch.setenv("ORG_CONFIG", str(path))
    return path


def person(user_id: str, name: str) -> User:
    return User(id=user_id, name=name, email=None, team="care", role="employee", manager=None, token="x" * 12)


# --- 1. a complaint naming someone never goes to them ---------------------------------------------

@pytest.mark.parametrize("comment", [
    "Ben Okafor hung up on me", "ben okafor hung up on me", "Okafor, Ben was rude to me on the phone",
    "The agent (Ben) hung up on me twice", "Mr Okafor never called back", "BEN OKAFOR HUNG UP",
])
def test_a_complaint_naming_an_employee_never_goes_to_them(triage: Any, comment: str) -> None:
    owners = [complaint(triage, comment).owner_id for _ in range(4)]
    assert "u-ben" not in owners
    assert set(owners) == {"u-ana"}  # the other employee of the team, not the lead
    unnamed = [complaint(triage, "Nobody called me back").owner_id for _ in range(6)]
    assert "u-ben" in unnamed  # Ben still gets the complaints that are not about him


def test_a_complaint_naming_the_only_employee_of_a_team_goes_to_their_lead(triage: Any) -> None:
    ticket = complaint(triage, "Raj Mehta refused my refund", touchpoint="billing")
    assert ticket.owner_id == "u-lead" and ticket.team == "care"  # Raj's manager, in the team he works in
    assert complaint(triage, "Charged twice", touchpoint="billing").owner_id == "u-raj"


def test_a_complaint_naming_two_people_goes_to_neither(triage: Any) -> None:
    ticket = complaint(triage, "Ana Silva passed me to Ben Okafor, who hung up")
    assert ticket.owner_id == "u-lead"  # no employee of Care is left: the lead answers it


def test_names_are_found_in_full_apart_or_capitalised_but_not_as_everyday_words() -> None:
    index = NameIndex([person("u-ben", "Ben Okafor"), person("u-will", "Will Park"),
                       person("u-bill", "Bill Price"), person("u-ana", "Ana Silva")])
    assert index.named("Ben Okafor hung up on me") == {"u-ben"}
    assert index.named("okafor ben, your agent") == {"u-ben"}
    assert index.named("Ben was rude") == {"u-ben"}
    assert index.named("Will you call me back? The bill was wrong and the price too high.") == set()
    assert index.named("I could not park near the shop, will not come back") == set()
    assert index.named("Will Park was rude") == {"u-will"}
    assert index.named("will park never answered") == {"u-will"}  # the full name, in any case
    assert index.named("Benefits? Anatomy? Silvan?") == set()  # whole words only
    assert index.named(None) == set() and index.named("") == set()


# --- 2. employees before leads ---------------------------------------------------------------------

def test_employees_take_frontline_tickets_before_their_lead(triage: Any) -> None:
    owners = [complaint(triage, touchpoint="delivery").owner_id for _ in range(4)]
    assert owners == ["u-tom"] * 4  # Lena (the lead) gets none while Tom can take them
    care = [complaint(triage).owner_id for _ in range(4)]
    assert sorted(care) == ["u-ana", "u-ana", "u-ben", "u-ben"] and care[0] != care[1]


def test_a_lead_takes_tickets_when_no_employee_is_available(triage: Any) -> None:
    client = triage.create_app().test_client()
    assert client.put("/api/v1/members/u-tom/availability", headers={"Authorization": "Bearer dev-tom"},
                      json={"available": False}).status_code == 200
    assert complaint(triage, touchpoint="delivery").owner_id == "u-lena"


# --- 3. capacity ---------------------------------------------------------------------------------------

def test_a_full_employee_passes_tickets_to_the_lead_and_everyone_full_goes_to_the_least_loaded(
        make_triage: Any, db_url: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    org_with(tmp_path, monkeypatch, u_tom={"max_open": 2}, u_lena={"max_open": 1})
    triage = make_triage(db_url("triage"))
    owners = [complaint(triage, touchpoint="delivery").owner_id for _ in range(7)]
    # Tom to his 2, then Lena (room for 1), then everyone is full: the least loaded, the employee on a tie
    assert owners == ["u-tom", "u-tom", "u-lena", "u-lena", "u-tom", "u-lena", "u-tom"]
    with triage.sessions() as session:
        load = {a.user_id: a.open_tickets for a in session.query(Assignee).filter(Assignee.team == "logistics")}
        assert load == {"u-tom": 4, "u-lena": 3}
        assert session.query(Ticket).filter(Ticket.owner_id.is_(None)).count() == 0
    client = triage.create_app().test_client()  # leadership sees the overload
    body = client.get("/api/v1/sla/summary", headers={"Authorization": "Bearer dev-ceo"}).get_json()
    assert [(m["id"], m["open_tickets"], m["max_open"]) for m in body["over_capacity"]] == [
        ("u-lena", 3, 1), ("u-tom", 4, 2)]
    client.post("/login", data={"token": "dev-ceo"})
    html = client.get("/dashboard").get_data(as_text=True)
    assert 'id="over-capacity"' in html and "Tom Nguyen (logistics): 4 open, limit 2" in html
    care = client.get("/api/v1/sla/summary?team=care", headers={"Authorization": "Bearer dev-ceo"}).get_json()
    assert care["over_capacity"] == []


def test_max_open_is_read_from_the_org_file_and_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    org = load_org(org_with(tmp_path, monkeypatch, u_tom={"max_open": 3}))
    assert org.users["u-tom"].max_open == 3 and org.users["u-ceo"].max_open is None  # no limit unless given
    with pytest.raises(OrgConfigError, match="max_open"):
        load_org(org_with(tmp_path, monkeypatch, u_tom={"max_open": 0}))


def test_with_nobody_available_anywhere_a_ticket_still_gets_an_owner(triage: Any) -> None:
    with triage.sessions() as session, session.begin():
        for assignee in session.query(Assignee):
            assignee.available = False
    owners = Counter(complaint(triage, "Ben Okafor hung up", touchpoint="delivery").owner_id for _ in range(3))
    assert sum(owners.values()) == 3 and "u-ben" not in owners


def test_members_api_shows_each_members_limit(triage: Any) -> None:
    members = triage.create_app().test_client().get("/api/v1/members",
                                                    headers={"Authorization": "Bearer dev-lena"}).get_json()
    assert {m["id"]: m["max_open"] for m in members} == {"u-lena": 5, "u-tom": 20}


# --- the dashboard's ?team= follows feedback to its team -----------------------------------------

def test_feedback_counts_for_the_team_of_its_ticket_or_for_the_team_routing_names(
        make_triage: Any, db_url: Any) -> None:
    from datetime import timedelta

    from services.triage.reports import service as reports
    from services.triage.tickets.models import Feedback
    from tests.services.triage.test_handlers import NOW

    triage = make_triage(db_url("triage"), spike_threshold=3, spike_window_seconds=3600)
    praise = feedback_event(survey={"metric": "nps", "score": 10}, touchpoint="delivery", comment="Fast courier")
    handle(triage, praise)
    charged = [complaint(triage, f"I was charged twice for order {i}", touchpoint="billing") for i in range(3)]
    with triage.sessions() as session:
        assert session.get(Feedback, praise.data["id"]).team == "logistics"
        assert {session.get(Feedback, t.feedback_id).team for t in charged} == {"billing"}

        def figures(team: str | None) -> tuple[Any, ...]:
            s = reports.summary(session, now=NOW, start=NOW - timedelta(days=1), end=NOW + timedelta(hours=1),
                                team=team, org=triage.org)
            return s["scores"]["nps"]["responses"], s["feedback"]["praise"], len(s["spikes"])

        assert figures(None) == (4, 1, 1)
        assert figures("logistics") == (1, 1, 0) and figures("billing") == (3, 0, 1) and figures("care") == (0, 0, 0)
    client = triage.create_app().test_client()  # a lead hands a ticket to another team: its scores go along
    moved = client.post(f"/api/v1/tickets/{charged[0].id}/assign", headers={"Authorization": "Bearer dev-ceo"},
                        json={"owner": "u-tom"})
    assert moved.status_code == 200
    with triage.sessions() as session:
        assert session.get(Feedback, charged[0].feedback_id).team == "logistics"
