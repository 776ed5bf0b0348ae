"""The docstrings of nerve's public API (the conventions of the docs issue) and their examples.

test_every_public_name_is_documented walks the public names (every name without a leading
underscore in the namespaces below, their __all__ or dir()) and checks each class and function,
and each method a public class introduces (methods it inherits or overrides are documented once,
on the class that introduces them), for Google-style sections in this order:

    Args:      when it takes parameters (a class: those of the __init__ it defines itself):
               every one named, with "default" in a defaulted one's entry
    Returns:   when its return annotation is something other than None (no annotation: not checked)
    Raises:    when its own body raises
    Example:   with a doctest (`>>>`) line

It fails once, listing every gap. test_doctests runs the examples of every nerve module."""
import ast
import doctest
import importlib
import importlib.util
import inspect
import pkgutil
import re
import textwrap
import typing

import pytest

import nerve

NAMESPACES = ["nerve", "nerve.layers", "nerve.models", "nerve.ops", "nerve.losses",
              "nerve.metrics", "nerve.optimizers", "nerve.optimizers.schedules",
              "nerve.callbacks", "nerve.activations", "nerve.initializers", "nerve.regularizers",
              "nerve.constraints", "nerve.utils", "nerve.datasets", "nerve.saving",
              "nerve.distributed", "nerve.wrappers"]
SECTIONS = ("Args", "Returns", "Raises", "Example")
# A module that needs an optional extra at import: the extra's module and how to install it.
EXTRAS = {"nerve.wrappers": ("sklearn", 'pip install "nerve[sklearn]"')}
DOCTEST_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _import(name):
    """The module, or pytest.skip naming the extra it needs when that is missing."""
    if name in EXTRAS:
        pytest.importorskip(EXTRAS[name][0], reason=f"{name} needs {EXTRAS[name][1]}")
    return importlib.import_module(name)


def _public_names(module):
    names = getattr(module, "__all__", None)
    if names is None:
        names = dir(module)
    return [name for name in names if not name.startswith("_")]


def _is_nerve(obj):
    return (inspect.isclass(obj) or inspect.isfunction(obj)) and \
        getattr(obj, "__module__", "").split(".")[0] == "nerve"


def public_objects():
    """{"module.qualname": class or function} of every public name, each object once (named
    by where it is exported when it is made by a factory: "nerve.layers.add")."""
    found, seen = {}, set()
    for namespace in NAMESPACES:
        if namespace in EXTRAS and importlib.util.find_spec(EXTRAS[namespace][0]) is None:
            continue  # test_the_extras_namespaces_import says so
        module = importlib.import_module(namespace)
        for name in _public_names(module):
            obj = getattr(module, name, None)
            if _is_nerve(obj) and id(obj) not in seen:
                seen.add(id(obj))
                made = "<" in obj.__qualname__  # "<locals>", "<lambda>"
                found[f"{namespace}.{name}" if made else
                      f"{obj.__module__}.{obj.__qualname__}"] = obj
    return found


def _methods_introduced(cls):
    """(name, function, whether static) of the public methods `cls` defines and no base does."""
    for name, attribute in vars(cls).items():
        if name.startswith("_") or any(name in vars(base) for base in cls.__mro__[1:]):
            continue
        function = attribute.__func__ if isinstance(attribute, (classmethod, staticmethod)) \
            else attribute
        if inspect.isfunction(function):
            yield name, function, isinstance(attribute, staticmethod)


def documented_objects():
    """{"module.qualname": (object, kind, defining module)}: the public classes and functions,
    and the methods introduced by the nerve classes in a public class's MRO (a private base's
    included)."""
    objects = {}
    for key, obj in public_objects().items():
        objects[key] = (obj, "class" if inspect.isclass(obj) else "function", obj.__module__)
        for cls in inspect.getmro(obj) if inspect.isclass(obj) else ():
            if not _is_nerve(cls):
                continue
            for name, function, static in _methods_introduced(cls):
                objects.setdefault(f"{cls.__module__}.{cls.__qualname__}.{name}",
                                   (function, "staticmethod" if static else "method",
                                    cls.__module__))
    return objects


def sections(docstring):
    """[(header, block)] of the docstring's Google-style sections, in order."""
    lines = inspect.cleandoc(docstring).splitlines()
    found = []
    for line in lines:
        header = re.fullmatch(r"([A-Z][A-Za-z ]*):\s*", line)
        if header:
            found.append((header.group(1), []))
        elif found and (not line.strip() or line.startswith((" ", "\t"))):
            found[-1][1].append(line)
        elif found and line.strip():
            found.append((None, []))  # text after a section ends it
    return [(header, textwrap.dedent("\n".join(block)).strip()) for header, block in found
            if header is not None]


def _parameters(obj, kind):
    """The parameters a caller passes, without self/cls. A class: those of the __init__ it
    defines (not of a __new__(cls, *args, **kwargs) that passes them on); none when it inherits
    its __init__, whose arguments its base class documents."""
    if kind == "class":
        if "__init__" not in vars(obj):
            return [], inspect.Signature.empty
        obj, kind = obj.__init__, "method"
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return None, inspect.Signature.empty
    parameters = list(signature.parameters.values())
    if kind == "method" and parameters:
        parameters = parameters[1:]
    return parameters, signature.return_annotation


def _argument_entries(block):
    """{name: entry text} of an Args block ("name: ...", "name (type): ...", "**kwargs: ...")."""
    entries, current = {}, None
    for line in block.splitlines():
        match = re.match(r"\*{0,2}(\w+)\s*(\([^)]*\))?\s*:", line)
        if match and not line.startswith((" ", "\t")):
            current = match.group(1)
            entries[current] = line
        elif current is not None:
            entries[current] += "\n" + line
    return entries


def _raises_in_body(obj):
    """Whether the source of `obj` (a class: its __init__) has a raise that is not a re-raise."""
    target = obj.__dict__.get("__init__") if inspect.isclass(obj) else obj
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(target)))
    except (OSError, TypeError, SyntaxError):
        return False
    return any(isinstance(node, ast.Raise) and node.exc is not None for node in ast.walk(tree))


def _returns_something(annotation):
    return annotation is not inspect.Signature.empty and annotation not in (None, "None")


def docstring_gaps(obj, kind):
    """What the docstring of `obj` lacks, as short phrases ([] when nothing)."""
    docstring = obj.__doc__
    if not docstring or not docstring.strip():
        return ["no docstring"]
    gaps = []
    if not inspect.cleandoc(docstring).splitlines()[0].rstrip().endswith("."):
        gaps.append("summary line does not end with a period")
    found = sections(docstring)
    blocks = {header: block for header, block in found}
    order = [header for header, _ in found if header in SECTIONS]
    if order != sorted(order, key=SECTIONS.index) or len(order) != len(set(order)):
        gaps.append(f"sections {order} not once each in the order {list(SECTIONS)}")
    parameters, annotation = _parameters(obj, kind)
    if parameters:
        if not blocks.get("Args"):
            gaps.append("missing Args")
        else:
            entries = _argument_entries(blocks["Args"])
            for parameter in parameters:
                if parameter.name not in entries:
                    gaps.append(f"parameter '{parameter.name}' not documented")
                elif parameter.default is not inspect.Parameter.empty and \
                        "default" not in entries[parameter.name].lower():
                    gaps.append(f"parameter '{parameter.name}': default not stated")
    if kind != "class" and _returns_something(annotation) and not blocks.get("Returns"):
        gaps.append("missing Returns")
    if _raises_in_body(obj) and not blocks.get("Raises"):
        gaps.append("missing Raises (its body raises)")
    if ">>>" not in blocks.get("Example", ""):
        gaps.append("missing Example with a >>> line")
    return gaps


def all_gaps():
    """({"module.qualname": [gaps]} of the objects with gaps, {defining module: how many})."""
    gaps, counts = {}, {}
    for key, (obj, kind, module) in sorted(documented_objects().items()):
        found = docstring_gaps(obj, kind)
        if found:
            gaps[key] = found
            counts[module] = counts.get(module, 0) + 1
    return gaps, dict(sorted(counts.items()))


def test_the_extras_namespaces_import():
    for namespace in EXTRAS:
        _import(namespace)


def test_every_public_name_is_documented():
    gaps, counts = all_gaps()
    counts = "\n".join(f"  {module}: {count}" for module, count in counts.items())
    listing = "\n".join(f"{key}: {'; '.join(found)}" for key, found in gaps.items())
    assert not gaps, (f"{len(gaps)} of {len(documented_objects())} public objects lack parts "
                      f"of their docstrings. Per module:\n{counts}\n{listing}")


def test_the_public_annotations_resolve():
    """typing.get_type_hints works on every public signature (as pdoc needs to render them)."""
    unresolved = []
    for key, (obj, kind, _) in documented_objects().items():
        try:
            typing.get_type_hints(obj.__init__ if kind == "class" else obj)
        except Exception as error:  # noqa: BLE001 - each failure is listed, whatever its type
            unresolved.append(f"{key}: {type(error).__name__}: {error}")
    assert not unresolved, "\n".join(unresolved)


def _nerve_modules():
    names = ["nerve"]
    for info in pkgutil.walk_packages(nerve.__path__, "nerve."):
        names.append(info.name)
    return sorted(names)


def _extra_missing(name):
    """The reason to skip module `name`: an extra it imports is missing, else None."""
    for module, (extra, install) in EXTRAS.items():
        if (name == module or name.startswith(module + ".")) and \
                importlib.util.find_spec(extra) is None:
            return f"{name} needs {install}"
    return None


@pytest.mark.parametrize("name", _nerve_modules())
def test_doctests(name, tmp_path, monkeypatch):
    """Every example in the module's docstrings passes (ELLIPSIS, NORMALIZE_WHITESPACE)."""
    reason = _extra_missing(name)
    if reason:
        pytest.skip(reason)
    module = importlib.import_module(name)
    monkeypatch.chdir(tmp_path)  # an example that writes a file by mistake writes it here
    tests = [test for test in doctest.DocTestFinder().find(module) if test.examples]
    failures = []
    runner = doctest.DocTestRunner(optionflags=DOCTEST_FLAGS)
    for test in tests:
        runner.run(test, out=failures.append)
    report = "".join(failures)
    assert runner.failures == 0, f"{runner.failures} failing examples in {name}:\n{report}"


def _documented(units: int, activation=None, **kwargs) -> int:
    """Make a thing.

    Args:
        units: Positive int, the output size.
        activation: Name or callable, default None (linear).
        **kwargs: Passed on.

    Returns:
        The output size.

    Raises:
        ValueError: When `units` is not positive.

    Example:
        >>> _documented(3)
        3
    """
    if units <= 0:
        raise ValueError("units: expected a positive int")
    return units


def _undocumented(units: int, activation=None) -> int:
    """Make a thing

    Args:
        activation: Name or callable.

    Example:
        _undocumented(3)
    """
    if units <= 0:
        raise ValueError("units: expected a positive int")
    return units


class _Documented:
    """A thing.

    Args:
        size: Int, default 1.

    Example:
        >>> _Documented().size
        1
    """

    def __init__(self, size=1):
        self.size = size

    def grow(self) -> None:
        """Add one, in place.

        Example:
            >>> _Documented().grow()
        """
        self.size += 1


class _Inherits(_Documented):
    """A thing whose constructor's arguments _Documented documents.

    Example:
        >>> _Inherits(2).size
        2
    """


def test_the_checker_passes_the_conventions_and_names_each_gap():
    assert docstring_gaps(_documented, "function") == []
    assert docstring_gaps(_Documented, "class") == []
    assert docstring_gaps(_Inherits, "class") == []
    assert docstring_gaps(_Documented.grow, "method") == []
    assert docstring_gaps(_undocumented, "function") == [
        "summary line does not end with a period", "parameter 'units' not documented",
        "parameter 'activation': default not stated", "missing Returns",
        "missing Raises (its body raises)", "missing Example with a >>> line"]
    assert docstring_gaps(lambda units: units, "function") == ["no docstring"]
    swapped = _documented.__doc__.replace("Returns:", "Later:").replace("Raises:", "Returns:")
    assert "not once each in the order" in docstring_gaps(
        type("Swapped", (), {"__doc__": swapped.replace("Later:", "Raises:")}), "class")[0]


def test_methods_are_checked_where_they_are_introduced():
    class Base:
        def call(self):
            pass

    class Child(Base):
        def call(self):
            pass

        def extra(self):
            pass

    assert [name for name, _, _ in _methods_introduced(Child)] == ["extra"]
