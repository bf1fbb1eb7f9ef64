"""Rendering is thread-safe and re-entrant."""

from __future__ import annotations

import threading

from squall.template import DictLoader, Template


def test_concurrent_renders_do_not_mix() -> None:
    template = Template("{% for i in range(n) %}{{ tag }}{% end %}")
    errors: list[str] = []
    barrier = threading.Barrier(8)

    def worker(tag: str) -> None:
        barrier.wait()
        for n in range(50):
            out = template.generate(n=n, tag=tag)
            if out != tag.encode() * n:
                errors.append(tag)

    threads = [
        threading.Thread(target=worker, args=(f"<t{k}>".replace("<", "[").replace(">", "]"),))
        for k in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_concurrent_loads_compile_once() -> None:
    loader = DictLoader({"a.html": "A{% include 'b.html' %}", "b.html": "B{{ x }}"})
    results: list[object] = []
    barrier = threading.Barrier(6)

    def worker() -> None:
        barrier.wait()
        template = loader.load("a.html")
        results.append(template)
        assert template.generate(x=1) == b"AB1"

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 6
    assert all(result is results[0] for result in results)


def test_template_rendering_itself_inside_an_expression() -> None:
    template = Template("[{{ n }}{% if n %}{% raw me.generate(me=me, n=n - 1) %}{% end %}]")
    assert template.generate(me=template, n=3) == b"[3[2[1[0]]]]"


def test_render_inside_expression_keeps_outer_buffer() -> None:
    inner = Template("<{{ v }}>")
    outer = Template("a{% raw inner.generate(v='x') %}b{{ v }}c")
    assert outer.generate(inner=inner, v="&") == b"a<x>b&amp;c"


def test_generate_does_not_leak_kwargs_between_calls() -> None:
    template = Template("{{ globals().get('secret', 'none') }}")
    assert template.generate(secret="s1") == b"s1"
    assert template.generate() == b"none"


def test_set_in_one_render_does_not_affect_next() -> None:
    template = Template("{% if first %}{% set x = 1 %}{% end %}{{ globals().get('x', 'unset') }}")
    assert template.generate(first=True) == b"unset"  # set is function-local
    assert template.generate(first=False) == b"unset"
