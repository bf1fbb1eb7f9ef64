"""The :class:`Configurable` base: a class whose constructor builds a configured subclass.

``Base()`` returns an instance of whatever implementation ``Base.configure()`` chose
(or ``Base.configurable_default()``), initialised through :meth:`Configurable.initialize`
rather than ``__init__``.
"""

from __future__ import annotations

from typing import Any

from ._util import import_object

__all__ = ["Configurable"]


class Configurable:
    """Mixin for an interface whose constructor builds an implementation chosen at run time.

    Subclasses define :meth:`configurable_base` (the interface class, usually returning
    itself) and :meth:`configurable_default` (the implementation used when none was
    configured). Instantiating the base builds the configured implementation; keyword
    arguments given to :meth:`configure` are passed to :meth:`initialize` of every new
    instance. Implementations override :meth:`initialize` instead of ``__init__``.
    """

    # Stored on the configurable base only (read through ``__dict__`` so that
    # subclasses never inherit a sibling hierarchy's choice).
    _squall_impl_class: type[Configurable] | None = None
    _squall_impl_kwargs: dict[str, Any] | None = None

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        base = cls.configurable_base()
        init_kwargs: dict[str, Any] = {}
        if cls is base:
            impl = cls.configured_class()
            base_kwargs = base.__dict__.get("_squall_impl_kwargs")
            if base_kwargs:
                init_kwargs.update(base_kwargs)
        else:
            impl = cls
        init_kwargs.update(kwargs)
        if impl.configurable_base() is not base:
            # The implementation is itself the base of another configurable hierarchy.
            return impl(*args, **init_kwargs)
        instance = super().__new__(impl)
        instance.initialize(*args, **init_kwargs)
        return instance

    @classmethod
    def configurable_base(cls) -> type[Configurable]:
        """The class holding its hierarchy's configuration (normally the interface itself)."""
        raise NotImplementedError()

    @classmethod
    def configurable_default(cls) -> type[Configurable]:
        """The class built when :meth:`~squall.util.Configurable.configure` was never called."""
        raise NotImplementedError()

    def _initialize(self) -> None:
        pass

    #: Per-instance set-up hook; receives whatever arguments the constructor got.
    initialize = _initialize

    @classmethod
    def configure(cls, impl: str | type[Configurable] | None, **kwargs: Any) -> None:
        """Choose the implementation class (or its dotted name) and extra constructor kwargs.

        ``impl=None`` returns to the default. Raises :class:`ValueError` if ``impl`` is
        not a subclass of this class.
        """
        base = cls.configurable_base()
        if isinstance(impl, str):
            impl = import_object(impl)
        if impl is not None and not (isinstance(impl, type) and issubclass(impl, cls)):
            raise ValueError(f"Invalid subclass of {cls}")
        base._squall_impl_class = impl
        base._squall_impl_kwargs = kwargs

    @classmethod
    def configured_class(cls) -> type[Configurable]:
        """The class a constructor call would instantiate right now."""
        base = cls.configurable_base()
        impl = base.__dict__.get("_squall_impl_class")
        if impl is None:
            impl = cls.configurable_default()
            base._squall_impl_class = impl
        assert isinstance(impl, type)
        return impl

    @classmethod
    def _save_configuration(cls) -> tuple[type[Configurable] | None, dict[str, Any] | None]:
        base = cls.configurable_base()
        return (base.__dict__.get("_squall_impl_class"), base.__dict__.get("_squall_impl_kwargs"))

    @classmethod
    def _restore_configuration(
        cls, saved: tuple[type[Configurable] | None, dict[str, Any] | None]
    ) -> None:
        base = cls.configurable_base()
        base._squall_impl_class = saved[0]
        base._squall_impl_kwargs = saved[1]
