"""Docstrings of the ops that factories make (element-wise math, comparisons, activations,
reductions): one Google-style layout, filled per function, so each help() is complete."""
import textwrap
from typing import Callable, List, Optional, Sequence, Tuple, TypeVar

__all__ = ["docstring", "documented", "TENSOR", "REAL_TYPE_ERROR", "SYMBOLIC",
           "SYMBOLIC_NO_GRADIENT"]

# The wording the families share.
TENSOR = "Array-like (NumPy array, list, scalar), Variable or SymbolicTensor"
REAL_TYPE_ERROR = ("TypeError", "When an argument is not real numbers or booleans "
                   "(complex, strings, objects).")
SYMBOLIC = "a SymbolicTensor when an argument is symbolic (a graph node, with its gradient)"
SYMBOLIC_NO_GRADIENT = ("a SymbolicTensor when an argument is symbolic (a graph node, through "
                        "which no gradient flows)")


def _block(title: str, lines: Sequence[str]) -> str:
    return "\n".join([f"{title}:"] + [f"    {line}" for line in lines])


def _wrapped(text: str) -> List[str]:
    return textwrap.wrap(text, 88, subsequent_indent="    ")


def _entries(pairs: Sequence[Tuple[str, str]]) -> List[str]:
    return [line for name, text in pairs for line in _wrapped(f"{name}: {text}")]


def docstring(summary: str, args: Sequence[Tuple[str, str]], returns: str,
              raises: Sequence[Tuple[str, str]], example: Sequence[str],
              description: Optional[str] = None,
              imports: str = ">>> from nerve import ops") -> str:
    """Summary, description, then Args, Returns, Raises and Example blocks (example: the
    doctest's lines after numpy's and nerve's `imports`, `>>>` ones and the results they
    print)."""
    parts = [summary] + ([textwrap.fill(description, 92)] if description else [])
    parts.append(_block("Args", _entries(args)))
    parts.append(_block("Returns", textwrap.wrap(returns, 88)))
    if raises:
        parts.append(_block("Raises", _entries(raises)))
    parts.append(_block("Example", [">>> import numpy as np", imports, *example]))
    return "\n\n".join(parts) + "\n"


Function = TypeVar("Function", bound=Callable)


def documented(doc: str) -> Callable[[Function], Function]:
    """A decorator giving a function the docstring a template made."""
    def attach(function: Function) -> Function:
        function.__doc__ = doc
        return function
    return attach
