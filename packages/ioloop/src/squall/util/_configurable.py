"""The :class:`Configurable` base: an interface whose constructor picks the implementation.

Each configurable hierarchy keeps its choice (implementation class plus extra
keyword arguments) in a small :class:`_Choice` record, looked up by the
hierarchy's base class in a module-level table (a plain dict: a lookup per
construction, and configurable bases live as long as their modules), so a
subclass never sees a sibling hierarchy's setting.
"""

from __future__ import annotations

from typing import Any

from ._util import import_object

__all__ = ["Configurable"]


class _Choice:
    """What one configurable base builds: ``impl`` (None = not decided yet) and ``kwargs``."""

    __slots__ = ("impl", "kwargs")

    def __init__(
        self, impl: type[Configurable] | None = None, kwargs: dict[str, Any] | None = None
    ):
        self.impl = impl
        self.kwargs: dict[str, Any] = kwargs or {}


# configurable base class -> its current choice
_choices: dict[type, _Choice] = {}


def _choice_of(base: type) -> _Choice:
    choice = _choices.get(base)
    if choice is None:
        choice = _choices[base] = _Choice()
    return choice


def _no_setup(self: Configurable) -> None:
    """Does nothing by default: subclasses override it to take their constructor arguments."""


class Configurable:
    """Mixin for an interface whose constructor builds an implementation chosen at run time.

    A subclass acting as the interface defines :meth:`configurable_base`
    (normally returning itself) and :meth:`configurable_default` (what gets
    built while nothing was configured).  Calling the interface class builds
    the configured implementation instead, with the keyword arguments given
    to :meth:`configure` merged under the caller's own.  Calling an
    implementation class directly builds exactly that class, without the
    configured arguments.  Set-up code goes in :meth:`initialize`, which
    receives the constructor arguments, not in ``__init__``.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        target: type[Configurable] = cls
        base = cls.configurable_base()
        if cls is base:
            choice = _choice_of(base)
            target = choice.impl or cls.configured_class()
            if choice.kwargs:
                kwargs = {**choice.kwargs, **kwargs}
            if target.configurable_base() is not base:
                # The chosen class heads a configurable family of its own: let it choose.
                return target(*args, **kwargs)
        obj = super().__new__(target)
        obj.initialize(*args, **kwargs)
        return obj

    @classmethod
    def configurable_base(cls) -> type[Configurable]:
        """The class holding its hierarchy's configuration (normally the interface itself)."""
        raise NotImplementedError(f"{cls.__name__} must define configurable_base()")

    @classmethod
    def configurable_default(cls) -> type[Configurable]:
        """The class built when :meth:`~squall.util.Configurable.configure` was never called."""
        raise NotImplementedError(f"{cls.__name__} must define configurable_default()")

    #: Per-instance set-up hook, called by the constructor with its arguments.
    #: The default takes none and does nothing; implementations override it.
    initialize = _no_setup

    @classmethod
    def configure(cls, impl: str | type[Configurable] | None, **kwargs: Any) -> None:
        """Choose the implementation class (or its dotted name) and extra constructor kwargs.

        ``impl=None`` goes back to :meth:`configurable_default`.  The kwargs
        replace any configured before.

        Raises:
            ValueError: ``impl`` is not a subclass of the class ``configure``
                was called on.
        """
        chosen = import_object(impl) if isinstance(impl, str) else impl
        if chosen is not None and not (isinstance(chosen, type) and issubclass(chosen, cls)):
            raise ValueError(f"{chosen!r} cannot be configured for {cls.__name__}: not a subclass")
        _choices[cls.configurable_base()] = _Choice(chosen, kwargs)

    @classmethod
    def configured_class(cls) -> type[Configurable]:
        """The class a call of the configurable base would build right now."""
        choice = _choice_of(cls.configurable_base())
        if choice.impl is None:
            choice.impl = cls.configurable_default()
        return choice.impl

    @classmethod
    def _save_configuration(cls) -> _Choice:
        """Snapshot the hierarchy's configuration, for :meth:`_restore_configuration` (tests)."""
        choice = _choice_of(cls.configurable_base())
        return _Choice(choice.impl, dict(choice.kwargs))

    @classmethod
    def _restore_configuration(cls, saved: _Choice) -> None:
        """Put back a configuration taken with :meth:`_save_configuration`."""
        _choices[cls.configurable_base()] = _Choice(saved.impl, dict(saved.kwargs))
