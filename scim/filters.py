"""Translate scim2-models' ScimFilter AST into SQLAlchemy expressions.

Filtering happens in SQL, before paging. Attributes Rolecall indexes live in
columns (the column map); every other attribute is read from the JSON document
the IdP sent, with the database's JSON functions. An attribute the resource type
does not declare is refused with invalidFilter, never silently widened.
"""

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from scim2_models import BaseModel, CaseExact, InvalidFilterException, ScimFilter
from scim2_models.path import (
    AttributeBinding,
    AttrPath,
    CompareOperator,
    Comparison,
    FilterVisitor,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ValuePath,
    coerce_value,
)
from sqlalchemy import JSON, and_, exists, false, func, not_, or_, select, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import ColumnElement

from rbac.db import casefold_key


@dataclass(frozen=True)
class Column:
    """A SCIM attribute stored in one column; `casefold` columns hold the casefolded key."""

    expr: Any
    casefold: bool = False
    string: bool = False

    def __post_init__(self):
        if self.casefold:
            object.__setattr__(self, "string", True)


@dataclass(frozen=True)
class Related:
    """A multi-valued SCIM attribute stored as rows of another table."""

    correlate: Callable[[], ColumnElement]
    sub_attributes: dict[str, Column] = field(default_factory=dict)

    def exists(self, *conditions: ColumnElement) -> ColumnElement:
        """Return EXISTS over the related rows that meet every condition."""
        return exists(select(1).where(self.correlate(), *conditions))


ColumnMap = dict[str, Column | Related]


@dataclass(frozen=True)
class Schema:
    """Where a resource type's attributes live: indexed columns, and the JSON document."""

    columns: ColumnMap
    document: Any
    core_urn: str
    # Attributes of the core schema kept nowhere a filter can read (User's groups).
    unfilterable: frozenset[str] = frozenset()


def filter_to_sql(
    scim_filter: ScimFilter, schema: Schema, dialect: str, *, unknown_is_false: bool = False
) -> ColumnElement:
    """Return the SQL condition selecting the resources a bound filter matches.

    With unknown_is_false, an attribute the model does not declare matches nothing
    (RFC 7644 §3.4.2.1, for a search across resource types) instead of being an error.
    """
    return _SqlFilter(scim_filter, schema, dialect, unknown_is_false).visit(scim_filter.ast)


def sort_expression(binding: AttributeBinding, schema: Schema, dialect: str) -> Any:
    """Return the expression to ORDER BY for a sortBy attribute, or None if it cannot sort."""
    spec = schema.columns.get(binding.urn.lower())
    if isinstance(spec, Column):
        expr = spec.expr
        return expr.collate("C") if dialect == "postgresql" and spec.casefold else expr
    if isinstance(spec, Related) or binding.is_multivalued:
        return None
    expr = _document_value(schema, binding)
    if _is_string(binding.target_type) and not binding.case_exact:
        expr = _casefold(expr, dialect)
    return (
        expr.collate("C") if dialect == "postgresql" and _is_string(binding.target_type) else expr
    )


class _SqlFilter(FilterVisitor[ColumnElement]):
    def __init__(self, scim_filter: ScimFilter, schema: Schema, dialect: str, unknown_is_false):
        self.scim_filter = scim_filter
        self.schema = schema
        self.dialect = dialect
        self.unknown_is_false = unknown_is_false

    def visit_logical_expr(self, node: LogicalExpr) -> ColumnElement:
        combine = and_ if node.op == LogicalOperator.and_ else or_
        return combine(*(self.visit(term) for term in node.terms))

    def visit_not(self, node: Not) -> ColumnElement:
        return not_(self.visit(node.expr))

    def visit_present(self, node: Present) -> ColumnElement:
        binding = self._resolve(node.attr_path)
        if binding is None:
            return false()
        urn = binding.urn.lower()
        if isinstance(spec := self.schema.columns.get(urn), Related):
            return spec.exists(or_(*(_present(c) for c in spec.sub_attributes.values())))
        complex_model = _complex_model(binding)
        if (target := self._target(binding)) is None:
            # A multi-valued complex attribute is present when one of its values is, and a
            # complex value is present when one of its sub-attributes is (RFC 7644 §3.4.2.2).
            array = _JsonArray(self, binding.urn)
            return array.exists(
                or_(*(_present(array.column(name, sub)) for name, sub in _subs(binding)))
            )
        if complex_model is not None and not binding.is_multivalued:
            return or_(
                *(
                    _present(_document_column(self.schema, sub, self.dialect))
                    for _, sub in _subs(binding)
                )
            )
        parent, column = target
        return parent.exists(_present(column)) if parent else _present(column)

    def visit_comparison(self, node: Comparison) -> ColumnElement:
        binding = self._resolve(node.attr_path, comparison=True)
        if binding is None:
            return false()
        value = coerce_value(binding, node.value, node.op)
        if (target := self._target(binding)) is None:
            raise InvalidFilterException(detail=f"{node.attr_path} cannot be compared")
        parent, column = target
        if parent is None:
            return _compare(column, node.op, value, self.dialect)
        if node.op == CompareOperator.ne and value is not None:
            # On a multi-valued attribute "ne" holds when no value equals the operand
            # (scim2-models' reading; the RFC leaves it open), so also when there is none.
            return not_(parent.exists(_compare(column, CompareOperator.eq, value, self.dialect)))
        return parent.exists(_compare(column, node.op, value, self.dialect))

    def visit_value_path(self, node: ValuePath) -> ColumnElement:
        binding = self._resolve(node.attr_path)
        if binding is None:
            return false()
        spec = self.schema.columns.get(binding.urn.lower())
        if not isinstance(spec, Related):
            spec = _JsonArray(self, binding.urn)
        inner = _SqlSubFilter(self, node.attr_path, spec).visit(node.val_filter)
        return spec.exists(inner)

    def _resolve(self, attr_path: AttrPath, comparison: bool = False) -> AttributeBinding | None:
        resolve = self.scim_filter.resolve_comparison if comparison else self.scim_filter.resolve
        binding = resolve(attr_path, strict=not self.unknown_is_false)
        if binding is not None:
            for name in self.schema.unfilterable:
                urn, attribute = binding.urn.lower(), f"{self.schema.core_urn}:{name}".lower()
                if urn == attribute or urn.startswith(attribute + "."):
                    raise InvalidFilterException(detail=f"filtering on {name} is not supported")
        return binding

    def _target(self, binding: AttributeBinding):
        """Return (the multi-valued container, if any, and) the column an attribute is read from."""
        urn = binding.urn.lower()
        spec = self.schema.columns.get(urn)
        if isinstance(spec, Column):
            return None, spec
        parent_urn, _, sub = binding.urn.rpartition(".")
        parent = self.schema.columns.get(parent_urn.lower())
        if isinstance(parent, Related):
            if sub.lower() not in parent.sub_attributes:
                raise InvalidFilterException(detail=f"filtering on {binding.urn} is not supported")
            return parent, parent.sub_attributes[sub.lower()]
        if binding.sub_field_name is not None and binding.is_multivalued:
            array = _JsonArray(self, parent_urn)
            return array, array.column(sub, binding)
        if binding.is_multivalued:
            return None
        return None, _document_column(self.schema, binding, self.dialect)


class _SqlSubFilter(_SqlFilter):
    """The filter inside a value path: its attributes are sub-attributes of that path."""

    def __init__(self, outer: _SqlFilter, attr_path: AttrPath, container):
        super().__init__(outer.scim_filter, outer.schema, outer.dialect, outer.unknown_is_false)
        self.attr_path = attr_path
        self.container = container

    def _qualify(self, inner: AttrPath) -> AttrPath:
        return AttrPath(attr=self.attr_path.attr, sub_attr=inner.attr, uri=self.attr_path.uri)

    def _column(self, binding: AttributeBinding) -> Column:
        sub = binding.urn.rpartition(".")[2]
        if isinstance(self.container, Related):
            if sub.lower() not in self.container.sub_attributes:
                raise InvalidFilterException(detail=f"filtering on {binding.urn} is not supported")
            return self.container.sub_attributes[sub.lower()]
        return self.container.column(sub, binding)

    def visit_present(self, node: Present) -> ColumnElement:
        binding = self._resolve(self._qualify(node.attr_path))
        if binding is None:
            return false()
        return self._column(binding).expr.is_not(None)

    def visit_comparison(self, node: Comparison) -> ColumnElement:
        binding = self._resolve(self._qualify(node.attr_path), comparison=True)
        if binding is None:
            return false()
        value = coerce_value(binding, node.value, node.op)
        return _compare(self._column(binding), node.op, value, self.dialect)

    def visit_value_path(self, node: ValuePath) -> ColumnElement:
        raise InvalidFilterException(detail="value paths cannot be nested")


class _JsonArray:
    """A multi-valued attribute of the JSON document, filtered with EXISTS over its elements."""

    def __init__(self, visitor: _SqlFilter, urn: str):
        path = _document_path(visitor.schema, urn)
        self.dialect = visitor.dialect
        document = visitor.schema.document
        if self.dialect == "postgresql":
            array = func.coalesce(document[path], func.jsonb_build_array())
            self.elements = func.jsonb_array_elements(array).table_valued("value")
            self.element = type_coerce(self.elements.c.value, JSONB)
        else:
            # json_each(document, path) yields no row when the path is absent.
            json_path = "$" + "".join(f'."{key}"' for key in path)
            self.elements = func.json_each(document, json_path).table_valued("value")
            self.element = type_coerce(self.elements.c.value, JSON)

    def column(self, sub_attribute: str, binding: AttributeBinding) -> Column:
        """Return the column of one sub-attribute of an element."""
        return _comparable(_typed(self.element[sub_attribute], binding), binding, self.dialect)

    def exists(self, *conditions: ColumnElement) -> ColumnElement:
        """Return EXISTS over the elements that meet every condition."""
        return exists(select(1).select_from(self.elements).where(*conditions))


def _document_path(schema: Schema, urn: str) -> tuple[str, ...]:
    """Return the JSON path of an attribute URN in the stored document."""
    schema_urn, _, dotted = urn.rpartition(":")
    keys = tuple(dotted.split("."))
    if schema_urn.lower() == schema.core_urn.lower():
        return keys
    return (schema_urn, *keys)


def _document_value(schema: Schema, binding: AttributeBinding):
    return _typed(schema.document[_document_path(schema, binding.urn)], binding)


def _document_column(schema: Schema, binding: AttributeBinding, dialect: str) -> Column:
    return _comparable(_document_value(schema, binding), binding, dialect)


def _comparable(expr, binding: AttributeBinding, dialect: str) -> Column:
    """Wrap a JSON value so that it compares as its attribute says (caseExact or not)."""
    if _is_string(binding.target_type) and not binding.case_exact:
        return Column(_casefold(expr, dialect), casefold=True)
    return Column(expr, string=_is_string(binding.target_type))


def _typed(json_value, binding: AttributeBinding):
    target = binding.target_type
    if isinstance(target, type) and issubclass(target, bool):
        return json_value.as_boolean()
    if isinstance(target, type) and issubclass(target, int):
        return json_value.as_integer()
    if isinstance(target, type) and issubclass(target, float | Decimal):
        return json_value.as_float()
    return json_value.as_string()


def _present(column: Column) -> ColumnElement:
    """Return the SQL of `pr` on one value: not null, and not empty if it is a string."""
    condition = column.expr.is_not(None)
    return and_(condition, column.expr != "") if column.string else condition


def _complex_model(binding: AttributeBinding):
    target = binding.target_type
    return target if isinstance(target, type) and issubclass(target, BaseModel) else None


def _subs(binding: AttributeBinding):
    """Yield (name, binding) for each sub-attribute of a complex attribute."""
    model = _complex_model(binding)
    for field_name, model_field in model.model_fields.items():
        name = model_field.serialization_alias or field_name
        yield (
            name,
            replace(
                binding,
                sub_field_name=field_name,
                sub_field_type=model.get_field_root_type(field_name),
                case_exact=model.get_field_annotation(field_name, CaseExact) == CaseExact.true,
                urn=f"{binding.urn}.{name}",
            ),
        )


def _casefold(expr, dialect: str):
    # SQLite's lower() folds ASCII only: the app registers Python's casefold as rc_casefold.
    return func.lower(expr) if dialect == "postgresql" else func.rc_casefold(expr)


def _compare(column: Column, op: CompareOperator, value: Any, dialect: str) -> ColumnElement:
    if isinstance(value, str) and "\x00" in value:
        # No stored value holds NUL, and PostgreSQL refuses it as a parameter.
        raise InvalidFilterException(detail="a filter value cannot contain NUL")
    expr = column.expr
    if isinstance(value, Enum):
        value = value.value
    if value is None:
        # RFC 7644 §3.4.2.2: comparing with null tests for absence.
        return expr.is_(None) if op == CompareOperator.eq else expr.is_not(None)
    if isinstance(value, str) and column.casefold:
        value = casefold_key(value)
    if isinstance(value, datetime):
        value = _utc(value)
    if op == CompareOperator.ne:
        return or_(expr.is_(None), expr != value)
    if op == CompareOperator.eq:
        condition = expr == value
    elif op in (CompareOperator.co, CompareOperator.sw, CompareOperator.ew):
        if not isinstance(value, str):
            return false()
        if not column.string:
            # RFC 7644 §3.4.2.2 defines co, sw and ew on strings: on a date they mean nothing.
            raise InvalidFilterException(detail=f"{op.value} compares strings only")
        method = {"co": expr.contains, "sw": expr.startswith, "ew": expr.endswith}[op.value]
        condition = method(value, autoescape=True)
    else:
        ordered = expr
        if isinstance(value, str) and dialect == "postgresql":
            # Code-point order, as SCIM's lexicographic comparison wants,
            # whatever the database's collation.
            ordered = expr.collate("C")
        condition = {
            CompareOperator.gt: ordered > value,
            CompareOperator.ge: ordered >= value,
            CompareOperator.lt: ordered < value,
            CompareOperator.le: ordered <= value,
        }[op]
    # SQL's NULL would make NOT(...) drop rows that SCIM's not() keeps.
    return and_(expr.is_not(None), condition)


def _utc(moment: datetime) -> datetime:
    """A filter's date in UTC, as stored; one that UTC cannot hold is an invalid filter."""
    try:
        return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    except OverflowError:
        raise InvalidFilterException(detail=f"{moment.isoformat()} is out of range") from None


def _is_string(target_type: Any) -> bool:
    return isinstance(target_type, type) and issubclass(target_type, str)
