"""model.summary() in Keras's layout: a row per layer with its output shape and parameter
count, a "Connected to" column for graphs that are not a plain chain, then the totals."""
from __future__ import annotations

import sys
from typing import Any, Callable, List, Optional, Tuple

import numpy as np

from .._progress import can_encode

# Keras's box drawing, and the plain characters for a stream that cannot encode it (ASCII,
# cp1252 consoles).
_BOX, _PLAIN = "┏━┳┓┃┡╇┩├─┼┤│└┴┘", "+=++|++++-++|+++"


def print_summary(model: Any, line_length: Optional[int] = None,
                  print_fn: Optional[Callable[[str], Any]] = None) -> None:
    """Print model.summary(): to print_fn, else to sys.stdout in characters it can encode
    (nothing without a sys.stdout: pythonw, some services).

    Args:
        model: The model.
        line_length: Int, the total width, default None (Keras's widths).
        print_fn: A function taking each line, default None (print).

    Example:
        >>> import nerve
        >>> from nerve.models import summary
        >>> model = nerve.Sequential([nerve.Input(shape=(4,)), nerve.layers.Dense(2)])
        >>> summary.print_summary(model, print_fn=lambda line: None)
    """
    lines = summary_lines(model, line_length)
    if print_fn is None:
        stream = sys.stdout
        if stream is None:
            return
        if not can_encode(stream, "".join(lines)):
            lines = _encodable(lines, getattr(stream, "encoding", None) or "utf-8")
        print_fn = print
    for line in lines:
        print_fn(line)


def _memory(count, itemsize):
    size, units = float(count * itemsize), ["B", "KB", "MB", "GB", "TB"]
    while size >= 1024 and len(units) > 1:
        size, units = size / 1024, units[1:]
    return f"{size:.2f} {units[0]}"


def _shape_text(shape):
    if shape is None:
        return "?"
    if isinstance(shape, list):
        return "[" + ", ".join(_shape_text(s) for s in shape) + "]"
    return "(" + ", ".join(map(str, shape)) + ")"


def _params(layer):
    return f"{layer.count_params():,}" if layer.built else "0 (unbuilt)"


def layer_rows(model: Any) -> Tuple[List[Tuple[str, str, str]], Optional[List[List[str]]]]:
    """Return the summary's rows: the cells of each layer, and its sources.

    Args:
        model: The model.

    Returns:
        (cells per row: name (type), output shape, parameters; the sources per row, or None
        for a chain, which has no "Connected to" column).

    Example:
        >>> import nerve
        >>> from nerve.models import summary
        >>> model = nerve.Sequential([nerve.Input(shape=(4,)), nerve.layers.Dense(2)])
        >>> summary.layer_rows(model)
        ([('dense... (Dense)', '(None, 2)', '10')], None)
    """
    rows = []
    for layer, shape, sources in model._summary_entries():
        cells = (f"{layer.name} ({type(layer).__name__})", _shape_text(shape), _params(layer))
        rows.append((cells, sources))
    if all(sources is None for _, sources in rows):
        return [cells for cells, _ in rows], None
    return [cells for cells, _ in rows], [sources or [] for _, sources in rows]


def _encodable(lines, encoding):
    """The lines in plain characters, and '?' for what else `encoding` lacks (a name)."""
    plain = str.maketrans(_BOX, _PLAIN)
    try:
        return [line.translate(plain).encode(encoding, "replace").decode(encoding)
                for line in lines]
    except LookupError:  # an encoding Python does not know: only the box drawing goes
        return [line.translate(plain) for line in lines]


def summary_lines(model: Any, line_length: Optional[int] = None) -> List[str]:
    """Return the lines of model.summary(), box drawing included.

    Args:
        model: The model.
        line_length: Int, the total width, default None (Keras's widths).

    Returns:
        The lines: the title, the table, then the totals.

    Example:
        >>> import nerve
        >>> from nerve.models import summary
        >>> model = nerve.Sequential([nerve.Input(shape=(4,)), nerve.layers.Dense(2)])
        >>> summary.summary_lines(model, line_length=60)[0]
        'Model: "sequential..."'
    """
    rows, connections = layer_rows(model)
    header = ["Layer (type)", "Output Shape", "Param #"]
    widths = [31, 22, 13] if connections is None else [19, 17, 10, 17]
    if connections is not None:
        header.append("Connected to")
    if line_length:
        widths[0] = max(10, line_length - 10 - sum(widths[1:]))
    widths = [max([w] + [len(r[i]) for r in rows]) for i, w in enumerate(widths[:3])] + widths[3:]
    if connections is not None:
        widths[3] = max([widths[3]] + [len(t) + 1 for sources in connections for t in sources])

    def rule(left, fill, middle, right):
        return left + middle.join(fill * (w + 2) for w in widths) + right

    def row(cells, edge):
        texts = [cells[0].ljust(widths[0]), cells[1].ljust(widths[1]), cells[2].rjust(widths[2])]
        texts += [c.ljust(w) for c, w in zip(cells[3:], widths[3:])]
        return edge + edge.join(f" {t} " for t in texts) + edge

    lines = [f'Model: "{model.name}"', rule("┏", "━", "┳", "┓"), row(header, "┃"),
             rule("┡", "━", "╇", "┩")]
    for i, cells in enumerate(rows):
        if i:
            lines.append(rule("├", "─", "┼", "┤"))
        if connections is None:
            lines.append(row(cells, "│"))
            continue
        sources = connections[i] or ["-"]
        texts = [s + ("," if j < len(sources) - 1 else "") for j, s in enumerate(sources)]
        lines.append(row(list(cells) + [texts[0]], "│"))
        lines += [row(["", "", "", text], "│") for text in texts[1:]]
    lines.append(rule("└", "─", "┴", "┘"))
    lines += totals(model)
    return lines


def totals(model: Any) -> List[str]:
    """Return the summary's lines of totals: all, trainable, non-trainable (and the
    optimizer's, once it has taken a step) parameters, with their sizes.

    Args:
        model: The model.

    Returns:
        The lines, as Keras prints them.

    Example:
        >>> import nerve
        >>> from nerve.models import summary
        >>> model = nerve.Sequential([nerve.Input(shape=(4,)), nerve.layers.Dense(2)])
        >>> summary.totals(model)[1]
        ' Trainable params: 10 (40.00 B)'
    """
    itemsize = np.dtype(model.dtype or "float32").itemsize
    trainable = sum(w.size for w in model.trainable_weights)
    frozen = sum(w.size for w in model.non_trainable_weights)
    optimizer = model.optimizer
    # Keras counts the optimizer's variables once it has taken a step.
    slots = sum(s.size for s in optimizer._slots) if optimizer and optimizer.iterations else 0
    lines = [f" Total params: {trainable + frozen + slots:,} "
             f"({_memory(trainable + frozen + slots, itemsize)})",
             f" Trainable params: {trainable:,} ({_memory(trainable, itemsize)})",
             f" Non-trainable params: {frozen:,} ({_memory(frozen, itemsize)})"]
    if slots:
        lines.append(f" Optimizer params: {slots:,} ({_memory(slots, itemsize)})")
    return lines


class Summary:
    """model.summary() and the rows it prints (a mixin of Model).

    Example:
        >>> import nerve
        >>> from nerve.models.summary import Summary
        >>> issubclass(nerve.Model, Summary)
        True
    """

    def summary(self, line_length: Optional[int] = None,
                print_fn: Optional[Callable[[str], Any]] = None) -> None:
        """Print the layers, their output shapes and parameter counts, in Keras's layout.

        A graph that is not a plain chain gets a "Connected to" column; the totals count the
        optimizer's variables once it has taken a step. On a stream that cannot encode the
        box drawing (ASCII consoles) plain characters are used.

        Args:
            line_length: Int, the total width, default None (Keras's widths).
            print_fn: A function taking each line (a str), default None (print to
                sys.stdout).

        Example:
            >>> import nerve
            >>> model = nerve.Sequential([nerve.Input(shape=(4,)), nerve.layers.Dense(2)],
            ...                          name="tiny")
            >>> lines = []
            >>> model.summary(print_fn=lines.append)
            >>> lines[0], lines[-3]
            ('Model: "tiny"', ' Total params: 10 (40.00 B)')
        """
        print_summary(self, line_length, print_fn)

    def _summary_entries(self):
        """(layer, output shape, sources or None) per row of summary()."""
        if not self._static or self._graph is None:  # traced, or a subclass not built yet
            return [(layer, None, None) for layer in self.layers]
        nodes = {}
        for node in self._graph.nodes:
            nodes.setdefault(id(node.operation), []).append(node)
        chain = all(len(n.inputs) == 1 for n in self._graph.nodes) and len(
            self._graph.inputs) == 1 and len(self._graph.outputs) == 1 and all(
            sum(1 for m in self._graph.nodes if t in m.inputs) <= 1
            for n in self._graph.nodes for t in n.outputs)
        entries = []
        for layer in self.layers:
            own = nodes.get(id(layer), [])
            if not own:  # an input layer
                entries.append((layer, layer.output.shape, None if chain else []))
                continue
            shapes = [t.shape for t in own[0].outputs]
            sources = [_source_name(t) for node in own for t in node.inputs]
            entries.append((layer, shapes[0] if len(shapes) == 1 else shapes,
                            None if chain else sources))
        return entries


def _source_name(tensor):
    layer = tensor.node.operation
    index = next((i for i, n in enumerate(getattr(layer, "_inbound_nodes", ()))
                  if n is tensor.node), 0)
    return f"{layer.name}[{index}][{tensor.index}]"
