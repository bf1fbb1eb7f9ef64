"""Tests for squall.util."""

from __future__ import annotations

import asyncio
import builtins
import datetime
import errno
import gzip
import os
import re
import sys

import pytest
from squall.util import (
    ArgReplacer,
    Configurable,
    GzipDecompressor,
    ObjectDict,
    TimeoutError,
    basestring_type,
    bytes_type,
    errno_from_exception,
    exec_in,
    import_object,
    raise_exc_info,
    re_unescape,
    timedelta_to_seconds,
    unicode_type,
)


def test_timeout_error_is_builtin():
    assert TimeoutError is asyncio.TimeoutError
    if sys.version_info >= (3, 11):
        assert TimeoutError is builtins.TimeoutError


def test_py2_aliases():
    assert unicode_type is str and basestring_type is str and bytes_type is bytes


def test_object_dict_attribute_access():
    d = ObjectDict(a=1)
    assert d.a == 1
    d.b = 2
    assert d["b"] == 2
    with pytest.raises(AttributeError):
        d.missing


def test_import_object_module_and_attribute():
    assert import_object("os.path") is os.path
    assert import_object("os.path.join") is os.path.join
    assert import_object("os") is os


def test_import_object_missing_attribute_raises_import_error():
    with pytest.raises(ImportError, match="No module named missing_thing"):
        import_object("os.missing_thing")
    with pytest.raises(ImportError):
        import_object("squall_no_such_module_xyz.thing")


def test_errno_from_exception():
    assert errno_from_exception(OSError(errno.EPIPE, "pipe")) == errno.EPIPE
    assert errno_from_exception(Exception(errno.EAGAIN)) == errno.EAGAIN
    assert errno_from_exception(Exception()) is None


@pytest.mark.parametrize("s", ["a.b", "foo/bar?baz=1", "[x]*+()", "tab\there", "ünïcode"])
def test_re_unescape_round_trips_re_escape(s):
    assert re_unescape(re.escape(s)) == s


def test_re_unescape_rejects_class_escapes():
    with pytest.raises(ValueError, match="cannot unescape"):
        re_unescape(r"\d")
    with pytest.raises(ValueError):
        re_unescape(r"\n")


def test_timedelta_to_seconds():
    assert timedelta_to_seconds(datetime.timedelta(minutes=1, milliseconds=500)) == 60.5


def test_raise_exc_info_reraises_with_traceback():
    try:
        raise KeyError("k")
    except KeyError:
        info = sys.exc_info()
    with pytest.raises(KeyError) as excinfo:
        raise_exc_info(info)
    assert excinfo.value is info[1]


def test_exec_in_string_and_code():
    ns: dict = {}
    exec_in("x = 1 + 1", ns)
    assert ns["x"] == 2
    exec_in(compile("y = x * 3", "<t>", "exec"), ns)
    assert ns["y"] == 6


def test_gzip_decompressor_whole_and_limited():
    data = b"squall " * 2000
    compressed = gzip.compress(data)
    d = GzipDecompressor()
    assert d.decompress(compressed) + d.flush() == data

    d = GzipDecompressor()
    out = d.decompress(compressed, 100)
    assert len(out) == 100
    assert d.unconsumed_tail
    while d.unconsumed_tail:
        out += d.decompress(d.unconsumed_tail, 100)
    out += d.flush()
    assert out == data


def test_gzip_decompressor_rejects_non_gzip():
    import zlib

    with pytest.raises(zlib.error):
        GzipDecompressor().decompress(b"not gzip at all")


def _func(a, b, c=None):
    return a, b, c


def test_arg_replacer_positional():
    r = ArgReplacer(_func, "b")
    assert r.get_old_value((1, 2), {}) == 2
    old, args, kwargs = r.replace("new", (1, 2), {})
    assert old == 2 and list(args) == [1, "new"] and kwargs == {}


def test_arg_replacer_keyword_and_default():
    r = ArgReplacer(_func, "c")
    assert r.get_old_value((1, 2), {}) is None
    assert r.get_old_value((1, 2), {}, default="d") == "d"
    old, args, kwargs = r.replace("C", (1, 2), {"c": "old"})
    assert old == "old" and kwargs == {"c": "C"} and list(args) == [1, 2]
    old, _, kwargs = r.replace("C2", (1, 2), {})
    assert old is None and kwargs == {"c": "C2"}


class _Base(Configurable):
    @classmethod
    def configurable_base(cls):
        return _Base

    @classmethod
    def configurable_default(cls):
        return _ImplA

    def initialize(self, pos=None, a=None, b=None):
        self.pos = pos
        self.a = a
        self.b = b


class _ImplA(_Base):
    pass


class _ImplB(_Base):
    pass


class _Unrelated(Configurable):
    @classmethod
    def configurable_base(cls):
        return _Unrelated

    @classmethod
    def configurable_default(cls):
        return _Unrelated


@pytest.fixture
def restore_config():
    saved = _Base._save_configuration()
    yield
    _Base._restore_configuration(saved)


def test_configurable_default_and_initialize(restore_config):
    obj = _Base(1, a=2)
    assert type(obj) is _ImplA
    assert (obj.pos, obj.a, obj.b) == (1, 2, None)
    assert _Base.configured_class() is _ImplA


def test_configurable_configure_class_and_kwargs(restore_config):
    _Base.configure(_ImplB, b="configured")
    obj = _Base(a=1)
    assert type(obj) is _ImplB
    assert (obj.a, obj.b) == (1, "configured")
    # Explicit arguments win over configured ones.
    assert _Base(b="explicit").b == "explicit"
    # Instantiating a subclass directly skips the configured kwargs.
    assert _ImplA().b is None


def test_configurable_configure_by_name(restore_config):
    _Base.configure(f"{__name__}._ImplB")
    assert _Base.configured_class() is _ImplB
    _Base.configure(None)
    assert _Base.configured_class() is _ImplA


def test_configurable_rejects_unrelated_class(restore_config):
    with pytest.raises(ValueError):
        _Base.configure(_Unrelated)


def test_configurable_save_restore(restore_config):
    saved = _Base._save_configuration()
    _Base.configure(_ImplB, a=5)
    assert _Base().a == 5
    _Base._restore_configuration(saved)
    assert type(_Base()) is _ImplA
    assert _Base().a is None


def test_object_dict_missing_attribute_and_helpers():
    d = ObjectDict()
    assert not hasattr(d, "nope")
    assert getattr(d, "nope", "fallback") == "fallback"
    d.x = None  # a stored None is a value, not a missing key
    assert d.x is None and d == {"x": None}


def test_import_object_imports_a_submodule_not_yet_loaded(tmp_path, monkeypatch):
    pkg = tmp_path / "squall_t_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "leaf.py").write_text("VALUE = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("squall_t_pkg", "squall_t_pkg.leaf"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    leaf = import_object("squall_t_pkg.leaf")
    assert leaf is sys.modules["squall_t_pkg.leaf"]
    assert import_object("squall_t_pkg.leaf.VALUE") == 42
    assert import_object("squall_t_pkg") is sys.modules["squall_t_pkg"]


def test_import_object_reports_a_submodules_own_failed_import(tmp_path, monkeypatch):
    pkg = tmp_path / "squall_t_broken"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "mod.py").write_text("import squall_t_missing_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "squall_t_broken", raising=False)
    with pytest.raises(ImportError) as info:
        import_object("squall_t_broken.mod")
    # The error names what is really missing, not the submodule that exists.
    assert info.value.name == "squall_t_missing_dependency"


def test_exec_in_does_not_inherit_future_flags_and_uses_locals():
    ns: dict = {}
    exec_in("def f(x: int): pass\nann = f.__annotations__['x']", ns)
    # This test module uses ``from __future__ import annotations``; the code must not.
    assert ns["ann"] is int
    glob: dict = {"a": 1}
    loc: dict = {}
    exec_in(b"b = a + 1", glob, loc)
    assert loc == {"b": 2} and "b" not in glob


def test_raise_exc_info_without_exception_is_type_error():
    with pytest.raises(TypeError):
        raise_exc_info((None, None, None))


def test_raise_exc_info_keeps_original_traceback():
    def fail():
        raise ValueError("deep")

    try:
        fail()
    except ValueError:
        info = sys.exc_info()
    with pytest.raises(ValueError) as excinfo:
        raise_exc_info(info)
    names = [entry.name for entry in excinfo.traceback]
    assert "fail" in names


def test_errno_from_exception_prefers_errno_attribute():
    err = OSError(errno.ENOENT, "gone")
    assert errno_from_exception(err) == errno.ENOENT
    timeout = TimeoutError()
    assert errno_from_exception(timeout) is None


def test_re_unescape_keeps_escaped_backslash_and_rejects_backrefs():
    assert re_unescape(re.escape("a\\b")) == "a\\b"
    assert re_unescape(r"\ü") == "ü"
    with pytest.raises(ValueError, match="cannot unescape"):
        re_unescape(r"\1")


def test_timedelta_to_seconds_negative_and_micro():
    assert timedelta_to_seconds(datetime.timedelta(microseconds=1)) == 1e-06
    assert timedelta_to_seconds(datetime.timedelta(days=-1)) == -86400.0


def test_gzip_decompressor_fed_in_pieces():
    data = os.urandom(5000) * 2
    compressed = gzip.compress(data)
    d = GzipDecompressor()
    out = b"".join(d.decompress(compressed[i : i + 7]) for i in range(0, len(compressed), 7))
    assert d.unconsumed_tail == b""
    assert out + d.flush() == data


def _kw_only(a, *, key=None):
    return a, key


class _Holder:
    def method(self, first, second=None):
        return first, second


def test_arg_replacer_keyword_only_parameter():
    r = ArgReplacer(_kw_only, "key")
    assert r.arg_pos is None
    assert r.get_old_value((1,), {"key": "k"}) == "k"
    old, args, kwargs = r.replace("new", (1,), {"key": "k"})
    assert (old, list(args), kwargs) == ("k", [1], {"key": "new"})


def test_arg_replacer_leaves_the_callers_args_alone():
    r = ArgReplacer(_func, "a")
    original = (1, 2)
    old, args, _ = r.replace(10, original, {})
    assert old == 1 and list(args) == [10, 2]
    assert original == (1, 2)


def test_arg_replacer_bound_method_positions_skip_self():
    r = ArgReplacer(_Holder().method, "second")
    assert r.arg_pos == 1
    assert r.get_old_value(("f", "s"), {}) == "s"


def test_arg_replacer_uninspectable_callable_uses_keywords():
    r = ArgReplacer(print, "sep")  # a builtin: no positional "sep"
    assert r.arg_pos is None
    assert r.replace("-", ("x",), {}) == (None, ("x",), {"sep": "-"})


def test_configurable_instance_is_instance_of_base_and_gets_positionals(restore_config):
    obj = _Base("p", b=3)
    assert isinstance(obj, _Base)
    assert (obj.pos, obj.a, obj.b) == ("p", None, 3)


def test_configurable_configure_replaces_earlier_kwargs(restore_config):
    _Base.configure(_ImplB, a=1)
    _Base.configure(_ImplB, b=2)
    obj = _Base()
    assert (obj.a, obj.b) == (None, 2)


def test_configurable_configure_from_subclass_sets_the_base(restore_config):
    _ImplA.configure(_ImplA, a="via subclass")
    assert _Base.configured_class() is _ImplA
    assert _Base().a == "via subclass"
    with pytest.raises(ValueError):
        _ImplA.configure(_ImplB)  # not a subclass of _ImplA


def test_configurable_hierarchies_do_not_share_configuration(restore_config):
    _Base.configure(_ImplB)
    assert _Unrelated.configured_class() is _Unrelated
    assert type(_Unrelated()) is _Unrelated


class _Outer(Configurable):
    @classmethod
    def configurable_base(cls):
        return _Outer

    @classmethod
    def configurable_default(cls):
        return _Inner


class _Inner(_Outer):
    @classmethod
    def configurable_base(cls):
        return _Inner

    @classmethod
    def configurable_default(cls):
        return _InnerImpl


class _InnerImpl(_Inner):
    def initialize(self, tag=None):
        self.tag = tag


def test_configurable_default_heading_its_own_family_chooses_again():
    obj = _Outer(tag="t")
    assert type(obj) is _InnerImpl
    assert obj.tag == "t"


def test_configurable_default_initialize_takes_no_arguments():
    class _Plain(Configurable):
        @classmethod
        def configurable_base(cls):
            return _Plain

        @classmethod
        def configurable_default(cls):
            return _Plain

    assert type(_Plain()) is _Plain
    with pytest.raises(TypeError):
        _Plain(1)


def test_configurable_without_base_raises_not_implemented():
    class _Bare(Configurable):
        pass

    with pytest.raises(NotImplementedError):
        _Bare()
