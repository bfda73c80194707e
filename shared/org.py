"""The organisation file: teams, people and their tokens, routing, SLA, root causes, channels.

Loaded once at start from ``ORG_CONFIG`` and validated; a bad file stops the service with a
message naming the file and the field. Root causes listed in the file extend (or relabel) the
default taxonomy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from marshmallow import INCLUDE, RAISE, Schema, ValidationError, fields, post_load, validate, validates_schema

ROLES = ("employee", "lead", "leader", "admin")
LEADERSHIP_ROLES = ("leader", "admin")

DEFAULT_ROOT_CAUSES: list[dict[str, Any]] = [
    {"code": "product_defect", "label": "Product defect",
     "plain": "the product itself had a fault"},
    {"code": "delivery_logistics", "label": "Delivery and logistics",
     "plain": "something went wrong while getting your order to you"},
    {"code": "billing_payment", "label": "Billing and payment",
     "plain": "a mistake in billing or payment"},
    {"code": "staff_conduct", "label": "Staff conduct",
     "plain": "one of our people did not treat you as they should have"},
    {"code": "slow_response", "label": "Slow response",
     "plain": "we took too long to answer you"},
    {"code": "onboarding_docs", "label": "Onboarding and documentation",
     "plain": "our instructions or setup help were not good enough"},
    {"code": "website_app", "label": "Website or app",
     "plain": "a problem in our website or app"},
    {"code": "pricing_value", "label": "Pricing and value",
     "plain": "our price did not match the value you expected"},
    {"code": "policy", "label": "Policy",
     "plain": "one of our policies worked against you"},
    {"code": "other", "label": "Other", "plain": "a cause outside our usual categories"},
]


class OrgConfigError(Exception):
    """The org file is missing or invalid."""


@dataclass(frozen=True)
class Team:
    id: str
    name: str
    lead: str | None = None
    channel: str | None = None


@dataclass(frozen=True)
class User:
    id: str
    name: str
    email: str | None
    team: str | None
    role: str
    manager: str | None
    token: str
    available: bool = True
    max_open: int | None = None  # open tickets routing gives them before others; None: no limit

    @property
    def is_leadership(self) -> bool:
        """Leadership and admins see every team."""
        return self.role in LEADERSHIP_ROLES


@dataclass(frozen=True)
class RoutingRule:
    team: str
    when: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RootCause:
    """A cause in the taxonomy. ``label`` and ``plain`` are the default (English) wording; ``labels``
    and ``plains`` hold the org file's wording per language (``label: {en: ..., bn: ...}``).
    ``keywords`` are all the file's keywords, in every language (``keywords: {en: [...], bn: [...]}``
    or one list)."""

    code: str
    label: str
    plain: str
    keywords: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    plains: dict[str, str] = field(default_factory=dict)

    def label_in(self, language: str | None) -> str:
        """The label in ``language`` (``bn`` or ``bn-BD``) if the org file gives one, else the default."""
        return _in_language(self.labels, language) or self.label

    def plain_in(self, language: str | None) -> str:
        """The plain-words explanation in ``language`` if the org file gives one, else the default."""
        return _in_language(self.plains, language) or self.plain


def _in_language(texts: dict[str, str], language: str | None) -> str | None:
    if not language:
        return None
    wanted = language.replace("_", "-").lower()
    return texts.get(wanted) or texts.get(wanted.split("-", 1)[0])


@dataclass(frozen=True)
class Channel:
    """A place notify sends to. ``type`` names its kind and ``options`` holds the kind's own keys from
    the file (``url``, ``secret``, ``to``...): notify, which knows the kinds, checks them when it starts."""

    id: str
    type: str
    options: dict[str, Any] = field(default_factory=dict)
    subscribe: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Integration:
    id: str
    name: str
    token: str


@dataclass
class Org:
    teams: dict[str, Team]
    users: dict[str, User]
    routing: list[RoutingRule]
    sla_default_seconds: int | None
    sla_by_priority: dict[str, int]
    root_causes: dict[str, RootCause]
    channels: list[Channel]
    integrations: list[Integration]
    digest: dict[str, Any]
    path: str = ""
    language: str = "en"  # customers' pages and mails when nothing else says (``language:``, a BCP 47 tag)

    def user_by_token(self, token: str) -> User | None:
        """The user holding ``token``, if any."""
        return self._tokens.get(token)

    def integration_by_token(self, token: str) -> Integration | None:
        """The integration holding ``token``, if any."""
        return self._integration_tokens.get(token)

    def members(self, team: str) -> list[User]:
        """Users of ``team`` in file order."""
        return [u for u in self.users.values() if u.team == team]

    def chain(self, user_id: str) -> list[User]:
        """The user's managers, nearest first (stops at a loop)."""
        chain: list[User] = []
        seen = {user_id}
        current = self.users.get(user_id)
        while current is not None and current.manager and current.manager not in seen:
            seen.add(current.manager)
            current = self.users.get(current.manager)
            if current is not None:
                chain.append(current)
        return chain

    def __post_init__(self) -> None:
        self._tokens = {u.token: u for u in self.users.values()}
        self._integration_tokens = {i.token: i for i in self.integrations}


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class _TeamSchema(_Strict):
    id = fields.String(required=True)
    name = fields.String(required=True)
    lead = fields.String(load_default=None)
    channel = fields.String(load_default=None)


class _UserSchema(_Strict):
    id = fields.String(required=True)
    name = fields.String(required=True)
    email = fields.Email(load_default=None)
    team = fields.String(load_default=None)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    manager = fields.String(load_default=None)
    token = fields.String(required=True, validate=validate.Length(min=6))
    available = fields.Boolean(load_default=True)
    max_open = fields.Integer(load_default=None, validate=validate.Range(min=1))


class _WhenSchema(_Strict):
    touchpoint = fields.String()
    source = fields.String()
    product = fields.String()
    root_cause = fields.String()
    keywords = fields.List(fields.String())
    kind = fields.String()


class _RoutingSchema(_Strict):
    when = fields.Nested(_WhenSchema, load_default=dict)
    team = fields.String(required=True)


class _SlaSchema(_Strict):
    default_seconds = fields.Integer(load_default=None, validate=validate.Range(min=1))
    by_priority = fields.Dict(keys=fields.String(validate=validate.OneOf(["P1", "P2", "P3"])),
                              values=fields.Integer(validate=validate.Range(min=1)), load_default=dict)


class _PerLanguage(fields.Field):
    """One value for every language, or a mapping of language code (``en``, ``bn``, ``bn-BD``) to values."""

    _LANGUAGE = validate.Regexp(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$", error="not a language code: {input}")

    def __init__(self, inner: fields.Field, **kwargs: Any):
        super().__init__(**kwargs)
        self.inner = inner

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            return {"": self.inner.deserialize(value)}
        return {self._LANGUAGE(str(k)).lower(): self.inner.deserialize(v) for k, v in value.items()}


class _RootCauseSchema(_Strict):
    code = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]{1,49}$"))
    label = _PerLanguage(fields.String(), load_default=None)
    plain = _PerLanguage(fields.String(), load_default=None)
    keywords = _PerLanguage(fields.List(fields.String()), load_default=dict)


class _SubscribeSchema(_Strict):
    events = fields.List(fields.String(), load_default=None)
    kinds = fields.List(fields.String(validate=validate.OneOf(["praise", "complaint", "neutral"])),
                        load_default=None)
    teams = fields.List(fields.String(), load_default=None)
    touchpoints = fields.List(fields.String(), load_default=None)
    digest = fields.List(fields.String(validate=validate.OneOf(["daily", "weekly"])), load_default=None)


class _ChannelSchema(Schema):
    class Meta:
        unknown = INCLUDE  # the type's own options, checked by the service that sends to it

    id = fields.String(required=True)
    type = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_-]{0,49}$"))
    subscribe = fields.Nested(_SubscribeSchema, load_default=dict)


class _IntegrationSchema(_Strict):
    id = fields.String(required=True)
    name = fields.String(required=True)
    token = fields.String(required=True, validate=validate.Length(min=12))


class _DigestSchema(_Strict):
    daily_at = fields.String(load_default="08:00", validate=validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$"))
    weekly_day = fields.String(load_default="mon",
                               validate=validate.OneOf(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]))
    timezone = fields.String(load_default="UTC")


class _OrgSchema(_Strict):
    teams = fields.List(fields.Nested(_TeamSchema), required=True, validate=validate.Length(min=1))
    users = fields.List(fields.Nested(_UserSchema), required=True, validate=validate.Length(min=1))
    routing = fields.List(fields.Nested(_RoutingSchema), load_default=list)
    sla = fields.Nested(_SlaSchema, load_default=dict)
    root_causes = fields.List(fields.Nested(_RootCauseSchema), load_default=list)
    channels = fields.List(fields.Nested(_ChannelSchema), load_default=list)
    integrations = fields.List(fields.Nested(_IntegrationSchema), load_default=list)
    digest = fields.Nested(_DigestSchema, load_default=lambda: _DigestSchema().load({}))
    language = fields.String(load_default="en", validate=validate.Regexp(
        r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})*$", error="not a language code like en or bn-BD: {input}"))

    @validates_schema
    def _references(self, data: dict[str, Any], **_: Any) -> None:
        teams = {t["id"] for t in data["teams"]}
        users = {u["id"] for u in data["users"]}
        errors: dict[str, str] = {}
        for u in data["users"]:
            if u["team"] and u["team"] not in teams:
                errors[f"users.{u['id']}.team"] = f"unknown team {u['team']!r}"
            if u["manager"] and u["manager"] not in users:
                errors[f"users.{u['id']}.manager"] = f"unknown user {u['manager']!r}"
        for i, r in enumerate(data["routing"]):
            if r["team"] not in teams:
                errors[f"routing.{i}.team"] = f"unknown team {r['team']!r}"
        tokens = [u["token"] for u in data["users"]] + [i["token"] for i in data["integrations"]]
        if len(tokens) != len(set(tokens)):
            errors["tokens"] = "every user and integration needs its own token"
        if errors:
            raise ValidationError(errors)

    @post_load
    def _build(self, data: dict[str, Any], **_: Any) -> Org:
        causes = {c["code"]: RootCause(c["code"], c["label"], c["plain"]) for c in DEFAULT_ROOT_CAUSES}
        for c in data["root_causes"]:
            base = causes.get(c["code"])
            labels, plains = c["label"] or {}, c["plain"] or {}
            label = _default(labels) or (base.label if base else c["code"].replace("_", " ").capitalize())
            causes[c["code"]] = RootCause(
                code=c["code"],
                label=label,
                plain=_default(plains) or (base.plain if base else _default(labels) or c["code"].replace("_", " ")),
                keywords=tuple(dict.fromkeys(k.lower() for words in c["keywords"].values() for k in words)),
                labels={k: v for k, v in labels.items() if k},
                plains={k: v for k, v in plains.items() if k},
            )
        return Org(
            teams={t["id"]: Team(**t) for t in data["teams"]},
            users={u["id"]: User(**u) for u in data["users"]},
            routing=[RoutingRule(team=r["team"], when=dict(r["when"])) for r in data["routing"]],
            sla_default_seconds=data["sla"].get("default_seconds"),
            sla_by_priority=dict(data["sla"].get("by_priority") or {}),
            root_causes=causes,
            channels=[Channel(id=c["id"], type=c["type"],
                              options={k: v for k, v in c.items() if k not in ("id", "type", "subscribe")},
                              subscribe={k: v for k, v in c["subscribe"].items() if v is not None})
                      for c in data["channels"]],
            integrations=[Integration(**i) for i in data["integrations"]],
            digest=dict(data["digest"]),
            language=data["language"],
        )


def _default(texts: dict[str, str]) -> str | None:
    """The wording for every language (a plain string in the file), else the English one, else the first."""
    return texts.get("") or texts.get("en") or next(iter(texts.values()), None)


def load_org(path: str | Path) -> Org:
    """Read and validate the org file at ``path``; raise :class:`OrgConfigError` naming the problem."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise OrgConfigError(f"cannot read org file {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise OrgConfigError(f"org file {path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise OrgConfigError(f"org file {path} must be a mapping with teams and users")
    try:
        org: Org = _OrgSchema().load(raw)
    except ValidationError as exc:
        raise OrgConfigError(f"org file {path} is invalid: {exc.messages}") from exc
    org.path = str(path)
    return org


__all__ = ["Org", "OrgConfigError", "User", "Team", "load_org"]
