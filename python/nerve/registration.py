"""Class names in configurations and files: nerve's own classes and the user's.

`@nerve.saving.register_keras_serializable(package="my_package")` registers a user's layer or
model as "my_package>ClassName", the name written into its configuration, so that
`load_model` and `model_from_json` can rebuild it (or pass `custom_objects={name: cls}`).
"""
import contextlib
import threading

__all__ = ["register_keras_serializable", "get_registered_name", "get_registered_object",
           "custom_object_scope", "register_builtin", "function_named"]

_BUILTIN = {}  # class name -> class, for nerve's layers and models
_CUSTOM = {}  # registered name -> class or function
_scope = threading.local()


def register_builtin(cls):
    _BUILTIN[cls.__name__] = cls
    return cls


def builtins():
    """nerve's own registered classes by name."""
    return dict(_BUILTIN)


def register_keras_serializable(package="Custom", name=None):
    """Decorator registering a class (or function) under "package>name" for deserialization."""
    if not isinstance(package, str) or ">" in package:
        raise ValueError(f"package: expected a str without '>', received {package!r}")

    def register(obj):
        key = f"{package}>{name or obj.__name__}"
        if not (hasattr(obj, "get_config") or callable(obj)):
            raise TypeError(f"{key}: expected a class with get_config or a function")
        _CUSTOM[key] = obj
        obj._nerve_registered_name = key
        return obj
    return register


def get_registered_name(obj):
    """The name a configuration records for `obj` (a class, function or instance)."""
    cls = obj if isinstance(obj, type) or callable(obj) and not hasattr(obj, "get_config") \
        else type(obj)
    return cls.__dict__.get("_nerve_registered_name", cls.__name__)


@contextlib.contextmanager
def custom_object_scope(custom_objects):
    """Within the block, deserialization also finds the classes of `custom_objects`."""
    previous = getattr(_scope, "objects", {})
    _scope.objects = {**previous, **(custom_objects or {})}
    try:
        yield
    finally:
        _scope.objects = previous


def get_registered_object(name, module_objects=None):
    """The class `name` denotes: custom objects in scope, registered ones, then `module_objects`
    and nerve's own classes; None if unknown."""
    scoped = getattr(_scope, "objects", {})
    for table in (scoped, _CUSTOM, module_objects or {}, _BUILTIN):
        if name in table:
            return table[name]
    short = name.split(">")[-1]
    return scoped.get(short)


def function_named(name, kind, fallback=None):
    """The user's function a configuration names (a loss or metric function), or ValueError."""
    found = get_registered_object(name) or (fallback or {}).get(name)
    if not callable(found):
        raise ValueError(f"{kind} function {name!r} is unknown: register it with "
                         f"nerve.saving.register_keras_serializable() or pass custom_objects")
    return found
