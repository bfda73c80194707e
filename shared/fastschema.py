"""Fast paths for loading and dumping the marshmallow schemas on the hot paths, derived from them.

The marshmallow schemas stay the one definition of every event and request body. For the field
types they use (strings, integers, floats, aware ISO datetimes, plain dicts, nested schemas,
with ``required``, ``allow_none``, ``load_default`` and validators), :func:`compile_schema`
builds a loader and a dumper that do the same work without marshmallow's per-field machinery,
which was about a fifth of the triage consumer's time per ticket.

The loader handles only what it is sure of: any value it does not accept as it stands (a wrong
type, a missing required field, an unknown field where they are refused, a failed validator, a
naive datetime without a default zone) makes it hand the whole document to ``schema.load``,
which raises the usual ``ValidationError`` with the usual messages or returns what it returns.

Everything here is marshmallow's public API: the fields' declared options and validators. A
schema's own checks are declared with :func:`checks_document` and :func:`checks_field` (which
register them with marshmallow as ``@validates_schema`` and ``@validates`` do, and mark them for
the fast paths, which call them on the loaded document; any error they raise also sends the
document to ``schema.load``). A schema with any other method of its own (a marshmallow
pre/post-load or dump hook, say), field-level load functions, or a field type or option this
module does not know is not compiled: its :class:`Compiled` calls marshmallow for everything.
``tests/shared/test_fastschema.py`` checks, over generated valid and broken documents, that the
results equal marshmallow's.

:class:`FastSchema` is a base class for schemas whose own ``load`` and ``dump`` take these
paths, so the request bodies flask-smorest loads and the answers it dumps use them too.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, fields, missing, validates, validates_schema

_FAIL = object()
"""Returned by a compiled loader for input it leaves to marshmallow."""

Loader = Callable[[Any], Any]
Dumper = Callable[[Any], Any]


class NotCompilable(Exception):
    """The schema uses something the fast paths do not reproduce."""


_CHECK = "closeloop_check"  # set on a schema's check methods: the field names it checks, or () for the document


def checks_document(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Declare a schema method that checks the whole loaded document (marshmallow's ``@validates_schema``).

    It is called as ``method(data, **kwargs)`` and raises ``ValidationError``; it runs only when
    every field is valid.
    """
    fn = validates_schema(fn)
    setattr(fn, _CHECK, ())
    return fn


def checks_field(*names: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a schema method that checks the loaded value of fields ``names`` (marshmallow's ``@validates``).

    It is called as ``method(value, data_key=...)`` and raises ``ValidationError``.
    """
    def declare(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn = validates(*names)(fn)
        setattr(fn, _CHECK, names)
        return fn
    return declare


def _checks(schema: Schema) -> tuple[list[tuple[str, str]], list[str]]:
    """The schema's declared checks: (method, field) pairs and document-check methods.

    Raises :class:`NotCompilable` for any other method the schema's classes define (it may be a
    marshmallow hook that the fast paths would not run).
    """
    field_checks: list[tuple[str, str]] = []
    document_checks: list[str] = []
    seen: set[str] = set()
    for klass in type(schema).__mro__:
        if klass in (Schema, FastSchema, object) or klass.__module__.startswith("marshmallow"):
            continue
        for name, value in vars(klass).items():
            if name in seen or name.startswith("__") or isinstance(value, (type, fields.Field)) \
                    or not callable(value):
                continue
            seen.add(name)
            declared = getattr(value, _CHECK, None)
            if declared is None:
                raise NotCompilable(f"method {name} of {klass.__name__}")
            if declared:
                field_checks.extend((name, field) for field in declared)
            else:
                document_checks.append(name)
    return field_checks, document_checks


def _string(value: Any) -> Any:
    return value if type(value) is str else _FAIL


def _integer(value: Any) -> Any:
    return value if type(value) is int else _FAIL


def _float(value: Any) -> Any:
    kind = type(value)
    if kind is float:
        return value if math.isfinite(value) else _FAIL
    if kind is int:
        return float(value)
    return _FAIL


def _boolean(value: Any) -> Any:
    return value if type(value) is bool else _FAIL


def _plain_dict(value: Any) -> Any:
    return dict(value) if type(value) is dict else _FAIL


def _aware_datetime(default_timezone: Any) -> Loader:
    def load(value: Any) -> Any:
        if type(value) is not str:
            return _FAIL
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return _FAIL
        if parsed.tzinfo is None or parsed.tzinfo.utcoffset(parsed) is None:
            if default_timezone is None:
                return _FAIL
            parsed = parsed.replace(tzinfo=default_timezone)
        return parsed
    return load


def _keyed_dict(key_validators: tuple[Any, ...]) -> Loader:
    def load(value: Any) -> Any:
        if type(value) is not dict:
            return _FAIL
        for key in value:
            if type(key) is not str:
                return _FAIL
            for validator in key_validators:
                try:
                    if validator(key) is False:
                        return _FAIL
                except Exception:
                    return _FAIL
        return dict(value)
    return load


def _field_loader(field: Any) -> Loader:  # the exact field classes below, checked by type()
    kind = type(field)
    if kind is fields.String or kind is fields.Email:  # an Email field's check is one of its validators
        return _string
    if kind is fields.Integer and not field.as_string:
        return _integer  # strict or not, an int is taken as it is; anything else goes to marshmallow
    if kind is fields.Float and not field.as_string and field.allow_nan is False:
        return _float
    if kind is fields.Boolean:
        return _boolean  # True or False as they are; "yes", 1 and the like go to marshmallow
    if kind is fields.AwareDateTime and field.format in (None, "iso", "iso8601"):
        return _aware_datetime(field.default_timezone)
    if kind is fields.Dict and field.key_field is None and field.value_field is None:
        return _plain_dict
    if (kind is fields.Dict and field.value_field is None and type(field.key_field) is fields.String
            and not (field.key_field.pre_load or field.key_field.post_load)):
        return _keyed_dict(tuple(field.key_field.validators))
    if kind is fields.Nested and not field.many and field.unknown is None:
        return _Compiler(field.schema).loader()
    raise NotCompilable(f"{kind.__name__} field")


def _dump_string(value: Any) -> Any:
    if type(value) is str:  # nearly always: no conversion
        return value
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _dump_boolean(value: Any) -> Any:
    if type(value) is bool:
        return value
    return _BOOLEAN.serialize("value", {"value": value})


_BOOLEAN = fields.Boolean()


def _field_dumper(field: Any) -> Dumper:
    kind = type(field)
    if kind is fields.String:
        return _dump_string
    if kind is fields.Integer and not field.as_string:
        return int
    if kind is fields.Float and not field.as_string:
        return float
    if kind is fields.Boolean:
        return _dump_boolean
    if kind is fields.AwareDateTime and field.format in (None, "iso", "iso8601"):
        return datetime.isoformat
    if kind is fields.Dict and field.key_field is None and field.value_field is None:
        return dict
    if kind is fields.Nested and not field.many:
        return _Compiler(field.schema).dumper()
    raise NotCompilable(f"{kind.__name__} field")


class _Compiler:
    def __init__(self, schema: Schema):
        if schema.many or schema.partial:
            raise NotCompilable("many=True or partial")
        self.schema = schema

    def loader(self) -> Loader:
        field_checks, document_checks = _checks(self.schema)
        schema = self.schema
        if schema.unknown not in (EXCLUDE, RAISE):
            raise NotCompilable("unknown fields are included")
        # with RAISE, a key that names no field is an error: marshmallow reports it
        known = frozenset(field.data_key or name for name, field in schema.load_fields.items()) \
            if schema.unknown == RAISE else None
        checked = bool(field_checks or document_checks)
        plan = []
        for name, field in self.schema.load_fields.items():
            if field.pre_load or field.post_load or field.attribute not in (None, name):
                raise NotCompilable(f"field {name} has load functions or an attribute")
            plan.append((field.data_key or name, name, field.required, field.load_default, field.allow_none,
                         _field_loader(field), tuple(field.validators)))

        def load(doc: Any) -> Any:
            if type(doc) is not dict:
                return _FAIL
            if known is not None and not known.issuperset(doc):
                return _FAIL
            out = {}
            for key, name, required, default, allow_none, convert, validators in plan:
                value = doc.get(key, missing)
                if value is missing:
                    if required:
                        return _FAIL
                    if default is not missing:
                        out[name] = default() if callable(default) else default
                    continue
                if value is None:
                    if not allow_none:
                        return _FAIL
                    out[name] = None
                    continue
                value = convert(value)
                if value is _FAIL:
                    return _FAIL
                for validator in validators:
                    try:
                        if validator(value) is False:
                            return _FAIL
                    except Exception:
                        return _FAIL
                out[name] = value
            if checked and not _valid(schema, out, field_checks, document_checks):
                return _FAIL
            return out
        return load

    def dumper(self) -> Dumper:
        _checks(self.schema)  # a method of its own may be a dump hook
        plan = []
        for name, field in self.schema.dump_fields.items():
            if field.attribute not in (None, name):
                raise NotCompilable(f"field {name} has an attribute")
            plan.append((name, field.data_key or name, field.dump_default, _field_dumper(field)))

        def dump(obj: Any) -> Any:
            if type(obj) is not dict:
                return _FAIL
            out = {}
            for name, key, default, convert in plan:
                value = obj.get(name, missing)
                if value is missing:
                    if default is missing:
                        continue
                    value = default() if callable(default) else default
                    if value is missing:
                        continue
                if value is not None:
                    value = convert(value)
                    if value is _FAIL:  # a nested value that is not a dict
                        return _FAIL
                out[key] = value
            return out
        return dump


def _valid(schema: Schema, data: dict[str, Any], field_checks: list[tuple[str, str]],
           document_checks: list[str]) -> bool:
    """Whether ``schema``'s declared checks accept ``data`` (field checks first, as marshmallow runs them)."""
    try:
        for method, name in field_checks:
            if name in data:
                field = schema.fields[name]
                getattr(schema, method)(data[name], data_key=field.data_key or name)
        for method in document_checks:
            getattr(schema, method)(data, many=False, partial=None, unknown=schema.unknown)
    except Exception:
        return False
    return True


class Compiled:
    """``load`` and ``dump`` with marshmallow's results, fast for what :func:`compile_schema` could compile."""

    def __init__(self, schema: Schema):
        self.schema = schema
        self.compiled = True
        self._load = self._dump = _refused
        try:
            compiler = _Compiler(schema)
        except NotCompilable:
            self.compiled = False
            return
        for side in ("load", "dump"):  # one side may compile when the other cannot (hooks of one kind)
            try:
                setattr(self, f"_{side}", getattr(compiler, f"{side}er")())
            except NotCompilable:
                self.compiled = False

    def load(self, doc: Any) -> Any:
        """``schema.load(doc)``: the same result, or the same ``ValidationError``."""
        result = self._load(doc)
        return self.schema.load(doc) if result is _FAIL else result

    def dump(self, obj: Any) -> Any:
        """``schema.dump(obj)`` for a dict."""
        result = self._dump(obj)
        return self.schema.dump(obj) if result is _FAIL else result


def _refused(_: Any) -> Any:
    return _FAIL


def compile_schema(schema: Schema) -> Compiled:
    """The fast ``load``/``dump`` of ``schema`` (falling back to marshmallow where it must)."""
    return Compiled(schema)


class FastSchema(Schema):
    """A marshmallow schema whose ``load`` and ``dump`` take the compiled paths when they can.

    Results and errors are marshmallow's (see the module's docstring); calls with ``many``,
    ``partial`` or ``unknown`` go straight to marshmallow. Compiled on first use.
    """

    _closeloop_compiled: Compiled | None = None

    def _compiled(self) -> Compiled:
        compiled = self._closeloop_compiled
        if compiled is None:
            compiled = self._closeloop_compiled = Compiled(self)
        return compiled

    def load(self, data: Any, *, many: bool | None = None, partial: Any = None,  # type: ignore[override]
             unknown: Any = None) -> Any:
        if many is None and partial is None and unknown is None:
            result = self._compiled()._load(data)
            if result is not _FAIL:
                return result
        return super().load(data, many=many, partial=partial, unknown=unknown)

    def dump(self, obj: Any, *, many: bool | None = None) -> Any:
        if many is None:
            result = self._compiled()._dump(obj)
            if result is not _FAIL:
                return result
        return super().dump(obj, many=many)
