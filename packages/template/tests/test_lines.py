"""Generated-code line numbers are rewritten to template lines."""

from __future__ import annotations

import sys
from types import CodeType

import pytest
from squall.template import Template
from squall.template._lines import compile_relocated

SOURCE = """def f(items):
    out = []
    for item in items:
        out.append(str(item) + 'x' * 3)
        out.extend([i for i in range(3)])
    def inner():
        return [1, 2, 3,
                4, 5, 6]
    try:
        out.append(inner())
    except Exception:
        pass
    return out
"""


def _lines_of(code: CodeType) -> list[int | None]:
    return [position[0] for position in code.co_positions()]


@pytest.mark.skipif(sys.version_info < (3, 11), reason="3.10 renumbers the AST instead")
@pytest.mark.parametrize(
    "numbers",
    [
        [7 + (i * 3) % 50 for i in range(13)],
        [1 + i // 5 for i in range(13)],
        [1000 + i * 200 for i in range(13)],
        [1] * 13,
        [13 - i for i in range(13)],
    ],
)
def test_every_instruction_reports_mapped_line(numbers: list[int]) -> None:
    original = compile(SOURCE, "t.html", "exec")
    relocated = compile_relocated(SOURCE, "t.html", numbers)

    def check(before: CodeType, after: CodeType) -> None:
        expected = [numbers[line - 1] if line else None for line in _lines_of(before)]
        assert _lines_of(after) == expected
        assert after.co_code == before.co_code
        nested_before = [c for c in before.co_consts if isinstance(c, CodeType)]
        nested_after = [c for c in after.co_consts if isinstance(c, CodeType)]
        assert len(nested_before) == len(nested_after)
        for b, a in zip(nested_before, nested_after):
            check(b, a)

    check(original, relocated)


def test_relocated_code_still_runs() -> None:
    namespace: dict[str, object] = {}
    exec(compile_relocated(SOURCE, "t.html", list(range(1, 14))), namespace)
    function = namespace["f"]
    assert callable(function)
    assert function([1]) == ["1xxx", 0, 1, 2, [1, 2, 3, 4, 5, 6]]


def test_long_template_line_numbers() -> None:
    source = "\n" * 5000 + "{{ 1/0 }}"
    template = Template(source, name="long.html")
    with pytest.raises(ZeroDivisionError) as info:
        template.generate()
    tb = info.value.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != "long.html":
        tb = tb.tb_next
    assert tb is not None
    assert tb.tb_lineno == 5001
