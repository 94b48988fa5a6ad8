"""Translate scim2-models' ScimFilter AST into SQLAlchemy expressions.

Filtering happens in SQL, before paging. Every attribute a filter may name is
listed in a column map; an attribute that is valid SCIM but absent from the map
is refused with invalidFilter rather than silently widening the result.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from scim2_models import InvalidFilterException, ScimFilter
from scim2_models.path import (
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
from sqlalchemy import and_, exists, false, not_, or_, select
from sqlalchemy.sql.elements import ColumnElement

from rbac.provisioning import casefold_key


@dataclass(frozen=True)
class Column:
    """A SCIM attribute stored in one column; `casefold` columns hold the casefolded key."""

    expr: Any
    casefold: bool = False


@dataclass(frozen=True)
class Related:
    """A multi-valued SCIM attribute stored as rows of another table."""

    model: Any
    correlate: Callable[[], ColumnElement]
    sub_attributes: dict[str, Column] = field(default_factory=dict)

    def exists(self, *conditions: ColumnElement) -> ColumnElement:
        """Return EXISTS over the related rows that meet every condition."""
        return exists(select(1).where(self.correlate(), *conditions))


ColumnMap = dict[str, Column | Related]


def filter_to_sql(scim_filter: ScimFilter, columns: ColumnMap, dialect: str) -> ColumnElement:
    """Return the SQL condition selecting the resources a bound filter matches."""
    return _SqlFilter(scim_filter, columns, dialect).visit(scim_filter.ast)


def column_for(binding_urn: str, columns: ColumnMap) -> Column | None:
    """Return the plain column a canonical attribute URN is stored in, if any."""
    spec = columns.get(binding_urn.lower())
    return spec if isinstance(spec, Column) else None


class _SqlFilter(FilterVisitor[ColumnElement]):
    def __init__(self, scim_filter: ScimFilter, columns: ColumnMap, dialect: str):
        self.scim_filter = scim_filter
        self.columns = columns
        self.dialect = dialect

    def visit_logical_expr(self, node: LogicalExpr) -> ColumnElement:
        combine = and_ if node.op == LogicalOperator.and_ else or_
        return combine(*(self.visit(term) for term in node.terms))

    def visit_not(self, node: Not) -> ColumnElement:
        return not_(self.visit(node.expr))

    def visit_present(self, node: Present) -> ColumnElement:
        binding = self.scim_filter.resolve(node.attr_path)
        urn = binding.urn.lower()
        if isinstance(spec := self.columns.get(urn), Related):
            return spec.exists()
        parent, column = self._lookup(urn, str(node.attr_path))
        condition = column.expr.is_not(None)
        if column.casefold or _is_string(binding.target_type):
            condition = and_(condition, column.expr != "")
        return parent.exists(condition) if parent else condition

    def visit_comparison(self, node: Comparison) -> ColumnElement:
        binding = self.scim_filter.resolve_comparison(node.attr_path)
        parent, column = self._lookup(binding.urn.lower(), str(node.attr_path))
        condition = self._compare(column, node.op, coerce_value(binding, node.value, node.op))
        return parent.exists(condition) if parent else condition

    def visit_value_path(self, node: ValuePath) -> ColumnElement:
        binding = self.scim_filter.resolve(node.attr_path)
        spec = self.columns.get(binding.urn.lower())
        if not isinstance(spec, Related):
            raise InvalidFilterException(detail=f"filtering on {node.attr_path} is not supported")
        inner = _SqlSubFilter(self, node.attr_path).visit(node.val_filter)
        return spec.exists(inner)

    def _lookup(self, urn: str, written: str) -> tuple[Related | None, Column]:
        """Return (the related table, if any, and) the column of an attribute URN."""
        spec = self.columns.get(urn)
        if isinstance(spec, Column):
            return None, spec
        parent_urn, _, sub = urn.rpartition(".")
        parent = self.columns.get(parent_urn)
        if isinstance(parent, Related) and sub in parent.sub_attributes:
            return parent, parent.sub_attributes[sub]
        raise InvalidFilterException(detail=f"filtering on {written} is not supported")

    def _compare(self, column: Column, op: CompareOperator, value: Any) -> ColumnElement:
        expr = column.expr
        if isinstance(value, Enum):
            value = value.value
        if value is None:
            # RFC 7644 §3.4.2.2: comparing with null tests for absence.
            return expr.is_(None) if op == CompareOperator.eq else expr.is_not(None)
        if isinstance(value, str) and column.casefold:
            value = casefold_key(value)
        if op == CompareOperator.ne:
            return or_(expr.is_(None), expr != value)
        if op == CompareOperator.eq:
            condition = expr == value
        elif op in (CompareOperator.co, CompareOperator.sw, CompareOperator.ew):
            if not isinstance(value, str):
                return false()
            method = {"co": expr.contains, "sw": expr.startswith, "ew": expr.endswith}[op.value]
            condition = method(value, autoescape=True)
        else:
            if isinstance(value, str) and self.dialect == "postgresql":
                # Code-point order, as SCIM's lexicographic comparison wants,
                # whatever the database's collation.
                expr = expr.collate("C")
            condition = {
                CompareOperator.gt: expr > value,
                CompareOperator.ge: expr >= value,
                CompareOperator.lt: expr < value,
                CompareOperator.le: expr <= value,
            }[op]
        # SQL's NULL would make NOT(...) drop rows that SCIM's not() keeps.
        return and_(column.expr.is_not(None), condition)


class _SqlSubFilter(_SqlFilter):
    """The filter inside a value path: its attributes are sub-attributes of that path."""

    def __init__(self, outer: _SqlFilter, attr_path: AttrPath):
        super().__init__(outer.scim_filter, outer.columns, outer.dialect)
        self.attr_path = attr_path

    def _qualify(self, inner: AttrPath) -> AttrPath:
        return AttrPath(attr=self.attr_path.attr, sub_attr=inner.attr, uri=self.attr_path.uri)

    def visit_present(self, node: Present) -> ColumnElement:
        binding = self.scim_filter.resolve(self._qualify(node.attr_path))
        _, column = self._lookup(binding.urn.lower(), str(node.attr_path))
        return column.expr.is_not(None)

    def visit_comparison(self, node: Comparison) -> ColumnElement:
        binding = self.scim_filter.resolve_comparison(self._qualify(node.attr_path))
        _, column = self._lookup(binding.urn.lower(), str(node.attr_path))
        return self._compare(column, node.op, coerce_value(binding, node.value, node.op))

    def visit_value_path(self, node: ValuePath) -> ColumnElement:
        raise InvalidFilterException(detail="value paths cannot be nested")


def _is_string(target_type: Any) -> bool:
    return isinstance(target_type, type) and issubclass(target_type, str)
