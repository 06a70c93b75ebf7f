"""The AST's records: frozen attrs values, compared without their spans."""
from __future__ import annotations

import pickle

import attrs
import pytest

from dsl import ast as A


def test_records_are_frozen_values():
    s = A.Span("f", 1, 2, 1, 5)
    q = A.Quantity(0.05, "%", "5%", s)
    assert q == A.Quantity(0.05, "%", "5%", A.Span("g", 9, 9))  # spans are not compared
    assert hash(q) == hash(A.Quantity(0.05, "%", "5%"))
    assert q != A.Quantity(0.06, "%", "6%", s)
    assert repr(q) == "Quantity(value=0.05, unit='%', text='5%', span=Span(file='f', line=1, column=2, " \
                      "end_line=1, end_column=5))"
    with pytest.raises(AttributeError):
        q.value = 1.0
    with pytest.raises(AttributeError):
        del q.unit
    assert attrs.evolve(q, value=0.06, text="6%") == A.Quantity(0.06, "%", "6%")
    assert pickle.loads(pickle.dumps(q)) == q and pickle.loads(pickle.dumps(q)).span == s
    assert [f.name for f in attrs.fields(A.Quantity)] == ["value", "unit", "text", "span"]
    assert A.Quantity.__match_args__ == ("value", "unit", "text", "span")


def test_record_constructor_arguments():
    assert A.Span("f", 1, 2) == A.Span(file="f", column=2, line=1) == A.Span("f", 1, column=2, end_line=0)
    assert A.Span("f", 1, 2).end_column == 0
    with pytest.raises(TypeError, match="missing"):
        A.Span("f", 1)
    with pytest.raises(TypeError, match="unexpected keyword"):
        A.Span("f", 1, 2, colum=3)
    with pytest.raises(TypeError, match="multiple values"):
        A.Span("f", 1, 2, line=3)
    with pytest.raises(TypeError, match="positional"):
        A.Span("f", 1, 2, 3, 4, 5)
    d = A.Deal(header=A.Header(name="x"))
    assert d.classes == () and d.path == "<string>" and "source" not in repr(d)
