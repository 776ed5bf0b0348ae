"""Class names in configurations and files: nerve's own classes and the user's.

`@nerve.saving.register_keras_serializable(package="my_package")` registers a user's layer or
model as "my_package>ClassName", the name written into its configuration, so that
`load_model` and `model_from_json` can rebuild it (or pass `custom_objects={name: cls}`).
"""
import contextlib
import threading
from typing import Any, Callable, Dict, Iterator, Mapping, Optional, TypeVar

__all__ = ["register_keras_serializable", "get_registered_name", "get_registered_object",
           "custom_object_scope", "register_builtin", "function_named"]

_BUILTIN: Dict[str, type] = {}  # class name -> class, for nerve's layers and models
_CUSTOM: Dict[str, Any] = {}  # registered name -> class or function
_scope = threading.local()
_T = TypeVar("_T")
_Class = TypeVar("_Class", bound=type)


def register_builtin(cls: _Class) -> _Class:
    """Record one of nerve's own classes under its class name (used by nerve's modules).

    Args:
        cls: A class.

    Returns:
        `cls`, so that this works as a class decorator.

    Example:
        >>> import nerve
        >>> nerve.registration.builtins()["Dense"] is nerve.layers.Dense
        True
    """
    _BUILTIN[cls.__name__] = cls
    return cls


def builtins() -> Dict[str, type]:
    """nerve's own registered classes by name.

    Returns:
        A new dict, class name -> class.

    Example:
        >>> import nerve
        >>> "Sequential" in nerve.registration.builtins()
        True
    """
    return dict(_BUILTIN)


def register_keras_serializable(package: str = "Custom",
                                name: Optional[str] = None) -> Callable[[_T], _T]:
    """A decorator registering a class or function under "package>name" for deserialization.

    The name is written into configurations and model files, so that load_model,
    model_from_json and the modules' get/deserialize find the object again. Also available as
    nerve.saving.register_keras_serializable.

    Args:
        package: Str without ">", default "Custom".
        name: Str or None, default None (the object's `__name__`).

    Returns:
        The decorator; it returns the object it registers, unchanged but for the attribute that
        records its registered name.

    Raises:
        ValueError: When `package` is not a str or contains ">".
        TypeError: (when decorating) When the object is neither callable nor has get_config.

    Example:
        >>> import nerve
        >>> @nerve.saving.register_keras_serializable(package="docs")
        ... def doubled_error(y_true, y_pred):
        ...     return nerve.ops.mean(nerve.ops.square(y_true - y_pred), axis=-1) * 2
        >>> nerve.registration.get_registered_name(doubled_error)
        'docs>doubled_error'
        >>> nerve.losses.get("docs>doubled_error").name
        'doubled_error'
    """
    if not isinstance(package, str) or ">" in package:
        raise ValueError(f"package: expected a str without '>', received {package!r}")

    def register(obj: Any) -> Any:
        key = f"{package}>{name or obj.__name__}"
        if not (hasattr(obj, "get_config") or callable(obj)):
            raise TypeError(f"{key}: expected a class with get_config or a function")
        _CUSTOM[key] = obj
        obj._nerve_registered_name = key
        return obj
    return register


def get_registered_name(obj: Any) -> str:
    """The name a configuration records for `obj`.

    Args:
        obj: A class, a function, or an instance (whose class is meant).

    Returns:
        The name it was registered under ("package>name"), else its class or function name.

    Example:
        >>> import nerve
        >>> nerve.registration.get_registered_name(nerve.layers.Dense(2))
        'Dense'
    """
    cls = obj if isinstance(obj, type) or callable(obj) and not hasattr(obj, "get_config") \
        else type(obj)
    return cls.__dict__.get("_nerve_registered_name", cls.__name__)


@contextlib.contextmanager
def custom_object_scope(custom_objects: Optional[Mapping[str, Any]]) -> Iterator[None]:
    """Within the `with` block, deserialization also finds the objects of `custom_objects`.

    Scopes nest (an inner one adds to the outer) and hold for the calling thread only.

    Args:
        custom_objects: Dict name -> class or function, or None (nothing added).

    Returns:
        A context manager.

    Example:
        >>> import nerve
        >>> def my_error(y_true, y_pred):
        ...     return nerve.ops.mean(nerve.ops.abs(y_true - y_pred), axis=-1)
        >>> with nerve.registration.custom_object_scope({"my_error": my_error}):
        ...     nerve.registration.get_registered_object("my_error") is my_error
        True
        >>> nerve.registration.get_registered_object("my_error") is None
        True
    """
    previous = getattr(_scope, "objects", {})
    _scope.objects = {**previous, **(custom_objects or {})}
    try:
        yield
    finally:
        _scope.objects = previous


def get_registered_object(name: str,
                          module_objects: Optional[Mapping[str, Any]] = None) -> Any:
    """The class or function that `name` denotes.

    Looks in the custom objects in scope, the registered objects, `module_objects`, then nerve's
    own classes; lastly the scope again by the part after ">".

    Args:
        name: Str, a class name or a registered "package>name".
        module_objects: Dict name -> object or None, default None.

    Returns:
        The object, or None where `name` is unknown.

    Example:
        >>> import nerve
        >>> nerve.registration.get_registered_object("Dense") is nerve.layers.Dense
        True
        >>> nerve.registration.get_registered_object("NoSuchLayer") is None
        True
    """
    scoped = getattr(_scope, "objects", {})
    for table in (scoped, _CUSTOM, module_objects or {}, _BUILTIN):
        if name in table:
            return table[name]
    short = name.split(">")[-1]
    return scoped.get(short)


def function_named(name: str, kind: str,
                   fallback: Optional[Mapping[str, Any]] = None) -> Callable[..., Any]:
    """The user's function a configuration names (a loss or metric function).

    Args:
        name: Str, the registered name.
        kind: Str, what the function is for ("loss", "metric"), for the error message.
        fallback: Dict name -> function or None, default None: looked in after the registry.

    Returns:
        The function.

    Raises:
        ValueError: When no callable is registered, in scope or in `fallback` under `name`.

    Example:
        >>> import nerve
        >>> nerve.registration.function_named("mse", "loss", vars(nerve.losses)).__name__
        'mean_squared_error'
    """
    found = get_registered_object(name) or (fallback or {}).get(name)
    if not callable(found):
        raise ValueError(f"{kind} function {name!r} is unknown: register it with "
                         f"nerve.saving.register_keras_serializable() or pass custom_objects")
    return found
