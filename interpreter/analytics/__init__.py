"""Bond analytics for waterfall outputs, vectorised over a scenario axis:
``measures`` (the SIFMA Standard Formulas: WAL, window, cash-flow and bond-
equivalent yields, discount margin, durations, prices and 32nds, accrued
interest) and ``batch`` (a class's term-sheet measures over many scenarios,
compiled or numpy)."""
from .batch import ClassInputs, ClassMeasures, class_measures, class_measures_numpy
from .measures import (wal, principal_window, cashflow_yield, bond_equivalent_yield, bey_from_mortgage, mortgage_from_bey,
    price_from_yield, price_from_mortgage_yield, discount_margin, price_from_dm, periodic_yield,
    macaulay_duration, modified_duration, YieldDuration, yield_and_duration, format_32nds, parse_price,
    accrued)

__all__ = ['wal', 'principal_window', 'cashflow_yield', 'bond_equivalent_yield', 'bey_from_mortgage',
           'mortgage_from_bey', 'price_from_yield', 'price_from_mortgage_yield', 'discount_margin',
           'price_from_dm', 'periodic_yield', 'macaulay_duration', 'modified_duration', 'YieldDuration',
           'yield_and_duration', 'format_32nds', 'parse_price', 'accrued', 'ClassInputs', 'ClassMeasures',
           'class_measures', 'class_measures_numpy']
