"""The canonical layout, one rule a test: what 'waterfall fmt' changes and what it keeps."""
import textwrap

import pytest

import dsl.format as F
from dsl.diagnostics import DealError
from dsl.format import FormatError, format_text
from dsl.parse import parse
from dsl.unparse import unparse

HEADER = 'deal "D"\n    cutoff  2024-01-01\n'  # a header's values two spaces after its longest item
TAIL = 'class R\n    residual\nwaterfall\n    clause "1"\n        pay remaining to R\n'


def fmt(body: str, header: str = HEADER, tail: str = TAIL) -> str:
    """The formatted text of the statements in ``body`` (between a small header and waterfall)."""
    text = header + textwrap.dedent(body).lstrip("\n") + tail
    out = format_text(text, "t.waterfall")
    assert format_text(out, "t.waterfall") == out  # every case is a fixed point once formatted
    assert parse(out) == parse(text)
    return out


def between(out: str, first: str, last: str) -> str:
    lines = out.split("\n")
    i = next(k for k, s in enumerate(lines) if s.startswith(first))
    j = next(k for k, s in enumerate(lines) if k >= i and s.startswith(last))
    return "\n".join(lines[i:j + 1])


def test_synonyms_labels_and_spellings_are_kept_where_unparse_rewrites_them():
    text = ('deal   "Odd  Spacing In A Label"\n  cutoff 2024-01-01\n  distribution day 25,  next business day\n'
            'group 1\nclass A\n  balance 1000000\n  coupon 5 %\nclass R\n  residual\ntable t by month\n  1+ 0\n'
            'waterfall\n  clause "1)  Interest"\n    from interest of group 1 : pay interest pro  rata to A\n'
            '    pay remaining to R\n')
    with pytest.raises(DealError):  # 'pro  rata' with two spaces is not the phrase
        format_text(text)
    text = text.replace("pro  rata", "pro rata")
    out = format_text(text)
    for kept in ('"Odd  Spacing In A Label"', "next business day", "balance 1000000", "coupon  5 %",
                 "by month", '"1)  Interest"', "pay interest pro rata to A"):
        assert kept in out
    assert "following" in unparse(parse(text))  # what the unparser would have written instead


def test_blocks_are_indented_four_spaces_a_level():
    out = fmt("""
        distribution d
          pay principal to R
        """, tail='class R\n  residual\nwaterfall\n clause "1"\n   if period > 1:\n      pay principal to d\n'
                  '   else:\n      pay remaining to R\n')
    assert out.endswith('waterfall\n    clause "1"\n        if period > 1:\n            pay principal to d\n'
                        '        else:\n            pay remaining to R\n')
    assert "distribution d\n    pay principal to R\n" in out


def test_tokens_one_space_apart_none_inside_parentheses_or_before_commas_and_colons():
    out = fmt("""
        define x = ( 1+2 )*min ( 3 ,- 4 )/abs( -pool_end( group 1 ) )
        """, tail='class R\n    residual\nwaterfall\n    clause "1"\n        from interest of group 1 :pay remaining to R\n')
    assert "define x = (1 + 2) * min(3, -4) / abs(-pool_end(group 1))\n" in out
    assert "from interest of group 1: pay remaining to R\n" in out


def test_the_deal_header_values_start_two_spaces_after_its_longest_item():
    out = format_text('deal "D"\n  cutoff 2024-01-01\n  first distribution   2024-02-25\n'
                      '  distribution day 25, following\n' + TAIL)
    assert out.startswith('deal "D"\n'
                          '    cutoff              2024-01-01\n'   # 'first distribution' is 18 long: values at 4 + 20
                          '    first distribution  2024-02-25\n'
                          '    distribution day    25, following\n')


def test_a_class_block_aligns_its_values_one_space_after_its_longest_keyword():
    out = fmt("""
        class A "Senior"
          balance 1,000,000
          coupon 5%
          day count 30/360
          carryover
        class B
          balance 5
          group 1
        """)
    assert between(out, "class A", "    carryover") == ('class A "Senior"\n'
                                                       '    balance   1,000,000\n'
                                                       '    coupon    5%\n'
                                                       '    day count 30/360\n'
                                                       '    carryover')
    assert between(out, "class B", "    group") == "class B\n    balance 5\n    group   1"  # its own block, its own column


def test_table_rows_put_rates_three_spaces_after_the_longest_period_and_right_align_amounts():
    out = fmt("""
        table lockout by period
          1-36 0%
          37-60 45%
          61+ 300%
        table notional by period
          1 300,000,000.00
          2 94,078,574.67
          30+ 0
        """)
    assert between(out, "table lockout", "    61+") == ("table lockout by period\n"
                                                        "    1-36    0%\n"
                                                        "    37-60   45%\n"
                                                        "    61+     300%")
    assert between(out, "table notional", "    30+") == ("table notional by period\n"
                                                          "    1     300,000,000.00\n"
                                                          "    2      94,078,574.67\n"
                                                          "    30+                0")


def test_table_rows_of_several_values_align_each_column():
    out = fmt("""
        table t by period
          1 5%, 6%
          2+ 10%, 7%
        """)
    assert between(out, "table t", "    2+") == "table t by period\n    1    5%,  6%\n    2+   10%, 7%"


def test_a_run_of_classes_lines_aligns_its_equal_signs_and_a_blank_line_ends_the_run():
    out = fmt("""
        class A
            balance 1
        classes "Seniors" = A
        # a comment does not end the run
        classes "All" = A, R

        classes "Other" = A
        """)
    assert 'classes "Seniors" = A\n# a comment does not end the run\nclasses "All"     = A, R\n\nclasses "Other" = A\n' in out


def test_a_run_of_parameters_aligns_names_titles_and_defaults():
    out = fmt("""
        parameter strike "Strike" default 0%
        parameter ceiling_rate "Ceiling rate" default 1%
        parameter open_term
        parameter plain default 2
        """)
    assert between(out, "parameter strike", "parameter plain") == (
        'parameter strike       "Strike"         default 0%\n'
        'parameter ceiling_rate "Ceiling rate"   default 1%\n'
        'parameter open_term\n'
        'parameter plain                         default 2')


def test_a_run_of_indices_aligns_titles():
    out = fmt("""
        index LIBOR_1M "One-month LIBOR"
        index CMT "CMT"
        """)
    assert 'index LIBOR_1M "One-month LIBOR"\nindex CMT      "CMT"\n' in out


def test_a_comment_line_takes_the_indentation_of_the_block_it_sits_in():
    out = fmt("""
        distribution d
              # first step
          pay principal to R
            # still about the step above
        # about the next section
        define x = 1
        """)
    assert ("distribution d\n    # first step\n    pay principal to R\n    # still about the step above\n"
            "# about the next section\ndefine x = 1\n") in out


def test_a_trailing_comment_keeps_its_column_at_least_two_spaces_after_the_code():
    out = fmt("""
        define a = 1                        # far out: stays
        define b = 1 # too close: two spaces
        """)
    assert "define a = 1                        # far out: stays\n" in out
    assert "define b = 1  # too close: two spaces\n" in out


def test_trailing_comments_that_shared_a_column_keep_sharing_one():
    out = fmt("""
        define a = 1          # one
        define long_name = 100 + 200   # pushed: the others follow
        define c = 1          # three
        """.replace("100 + 200   #", "100 + 200 + 300 #"))
    lines = [s for s in out.split("\n") if s.startswith("define")]
    assert len({s.index("#") for s in lines}) == 2  # the run's column is the pushed line's ...
    assert lines[1].index("#") == len("define long_name = 100 + 200 + 300") + 2
    assert lines[0].index("#") == lines[2].index("#") == 22  # ... only where they shared one


def test_at_most_one_blank_line_in_a_row_and_none_at_either_end():
    out = format_text("\n\n\n" + HEADER + "\n\n\n" + TAIL + "\n\n\n")
    assert out == HEADER + "\n" + TAIL


def test_a_continuation_line_moves_with_the_parenthesis_it_is_aligned_to():
    out = fmt("define   total = max(0, 1\n"
              "                     + 2)\n"  # under the '0' after 'max('
              "define tidy = (\n"
              "  1 + 2)\n")
    assert ("define total = max(0, 1\n"
            "                   + 2)\n") in out  # 'max(' moved two columns left, its continuation with it
    assert "define tidy = (\n    1 + 2)\n" in out  # a continuation is indented past its statement


def test_a_backslash_continuation_is_kept():
    out = fmt("""
        define x = 1 + \\
           2
        """)
    assert "define x = 1 + \\\n    2\n" in out  # indented past its statement


def test_windows_line_ends_are_kept():
    text = (HEADER + TAIL).replace("\n", "\r\n").replace("    cutoff  ", "  cutoff   ")
    out = format_text(text)
    assert out == (HEADER + TAIL).replace("\n", "\r\n")


def test_a_text_that_does_not_parse_gives_the_parsers_positioned_error():
    text = 'deal "x"\n    cutoff 2024-01-01\nclass\n'
    with pytest.raises(DealError) as err:
        format_text(text, "bad.waterfall")
    with pytest.raises(DealError) as parsed:
        parse(text, "bad.waterfall")
    assert err.value.render() == parsed.value.render()
    assert err.value.render().startswith("bad.waterfall:3:6: error: unexpected end of line\n    class\n         ^")


def test_an_output_that_would_lose_a_comment_is_refused(monkeypatch):
    real = F._Layout.render
    monkeypatch.setattr(F._Layout, "render", lambda self: real(self).replace("# gone\n", "\n"))
    with pytest.raises(FormatError, match="comment"):
        format_text(HEADER + "# gone\n" + TAIL, "t.waterfall")


def test_an_output_that_would_read_differently_is_refused(monkeypatch):
    real = F._Layout.render
    monkeypatch.setattr(F._Layout, "render", lambda self: real(self).replace("pool - target", "pool-target"))
    with pytest.raises(FormatError, match="tokens"):
        format_text(HEADER + "define d = pool - target\n" + TAIL, "t.waterfall")
