"""``model.summary()``: Keras 3's box table, drawn without the ``rich`` dependency.

Column widths follow Keras (positions 0.45 / 0.80 / 1.0 of ``line_length``, which defaults to
``min(88, terminal columns - 4)``) and rich's fixed-width column shrinking, so the text matches
Keras's character for character.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from minicnn.models.sequential import Sequential


def readable_memory_size(nbytes: float) -> str:
    """``308.00 B``, ``3.05 MB``: 1024-based, two decimals, as Keras.

    Example:
        >>> from minicnn.models.summary import readable_memory_size
        >>> readable_memory_size(3_194_628)
        '3.05 MB'
    """
    for unit in ["B", "KB", "MB", "GB", "TB"]:
        if nbytes / 1024 < 1:
            return f"{nbytes:.2f} {unit}"
        nbytes /= 1024
    return f"{nbytes:.2f} PB"


def _ratio_reduce(total: int, values: list[int]) -> list[int]:
    """rich's ratio_reduce with equal ratios: remove ``total`` characters spread evenly."""
    remaining, ratio_left, out = total, len(values), []
    for value in values:
        cut = min(value, round(remaining / ratio_left))
        out.append(value - cut)
        remaining -= cut
        ratio_left -= 1
    return out


def column_widths(line_length: int, positions: tuple[float, ...] = (0.45, 0.80, 1.0)) -> list[int]:
    """Cell widths (padding included, borders excluded) of the rendered table.

    Args:
        line_length: the table's total width.
        positions: right edges of the columns as fractions of ``line_length`` (Keras's).

    Example:
        >>> from minicnn.models.summary import column_widths
        >>> column_widths(76)
        [33, 24, 15]
    """
    widths, current = [], 0
    for pos in positions:
        width = int(pos * line_length) - current
        if width < 4:
            raise ValueError("Insufficient console width to print summary.")
        widths.append(width)
        current += width
    cells = [w + 2 for w in widths]  # rich adds one space of padding on each side
    excess = sum(cells) - (line_length - len(widths) - 1)
    return _ratio_reduce(excess, cells) if excess > 0 else cells


def _wrap(text: str, width: int) -> list[str]:
    """Greedy word wrap as rich does for a fixed-width cell; a word longer than the cell gets
    a line of its own, cut with an ellipsis (rich's default ``overflow="ellipsis"``)."""
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        if len(word) > width:
            if current:
                lines.append(current)
                current = ""
            lines.append(word[:width - 1] + "…")
            continue
        if not current:
            current = word
        elif len(current) + 1 + len(word) <= width:
            current += " " + word
        else:
            lines.append(current)
            current = word
    if current or not lines:
        lines.append(current)
    return lines


def _row(cells: list[str], widths: list[int], right: tuple[bool, ...], edge: str) -> list[str]:
    wrapped = [_wrap(text, width - 2) for text, width in zip(cells, widths)]
    height = max(len(w) for w in wrapped)
    lines = []
    for i in range(height):
        parts = []
        for cell, width, r in zip(wrapped, widths, right):
            text = cell[i] if i < len(cell) else ""
            inner = width - 2
            parts.append(" " + (text.rjust(inner) if r else text.ljust(inner)) + " ")
        lines.append(edge + edge.join(parts) + edge)
    return lines


def _rule(widths: list[int], left: str, fill: str, mid: str, right: str) -> str:
    return left + mid.join(fill * w for w in widths) + right


def format_shape(shape: tuple | None) -> str:
    """``(None, 28, 28, 6)`` as Keras prints an output shape; ``?`` when unknown.

    Example:
        >>> from minicnn.models.summary import format_shape
        >>> format_shape((None, 400))
        '(None, 400)'
    """
    if shape is None:
        return "?"
    return "(" + ", ".join(str(d) for d in shape) + ")"


def sequential_like(model: Any) -> bool:
    """Keras's test for the 3-column table: a chain (one node per depth, each with at most one
    input) with no layer called twice. Otherwise the table gains "Connected to".

    Example:
        >>> import minicnn as mc
        >>> from minicnn.models.summary import sequential_like
        >>> a = mc.Input((3,))
        >>> sequential_like(mc.Model(a, mc.layers.Dense(2)(a)))
        True
        >>> sequential_like(mc.Model(a, mc.layers.add([a, mc.layers.Dense(3)(a)])))
        False
    """
    nodes = getattr(model, "_nodes", None)
    if nodes is None:  # a Sequential
        return True
    by_depth: dict[int, list[Any]] = {}
    for node in nodes:
        by_depth.setdefault(model._node_depth[id(node)], []).append(node)
    if any(len(v) > 1 or len(v[0].inputs) > 1 for v in by_depth.values()):
        return False
    in_graph = {id(n) for n in nodes}
    return all(sum(id(n) in in_graph for n in layer.inbound_nodes) <= 1
               for layer in model.layers)


def _layer_shape(layer: Any) -> str:
    """Keras's Output Shape cell: from the layer's last call, else its built shape."""
    nodes = layer.inbound_nodes
    if nodes:
        shapes = [format_shape(t.shape) for t in nodes[-1].outputs]
        return shapes[0] if len(shapes) == 1 else "[" + ", ".join(shapes) + "]"
    return format_shape(layer.output_shape) if layer.built else "?"


def _connections(model: Any, layer: Any) -> str:
    in_graph = {id(n) for n in model._nodes}
    refs = [f"{t.history[0].name}[{t.history[1]}][{t.history[2]}]"
            for node in layer.inbound_nodes if id(node) in in_graph for t in node.inputs]
    return ", ".join(refs) or "-"


def summary_text(model: Sequential, line_length: int | None = None) -> str:
    """The summary as a string (see ``Model.summary``).

    Args:
        model: a built ``Sequential`` or ``Model``.
        line_length: total width; default: the terminal's width minus 4, at most 88 (108 for
            the 4-column table of a graph).

    Example:
        >>> import minicnn as mc
        >>> from minicnn.models.summary import summary_text
        >>> model = mc.Sequential([mc.Input((3,)), mc.Dense(2)], name="tiny")
        >>> summary_text(model, line_length=60).splitlines()[-3]
        ' Total params: 8 (32.00 B)'
    """
    chain = sequential_like(model)
    if line_length is None:
        line_length = min(88 if chain else 108, shutil.get_terminal_size().columns - 4)
    if chain:
        widths = column_widths(line_length)
        header = ["Layer (type)", "Output Shape", "Param #"]
        right: tuple[bool, ...] = (False, False, True)
    else:
        widths = column_widths(line_length, (0.3, 0.56, 0.74, 1.0))
        header = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
        right = (False, False, True, False)
    lines = [f'Model: "{model.name}"',
             _rule(widths, "┏", "━", "┳", "┓"),
             *_row(header, widths, right, "┃"),
             _rule(widths, "┡", "━", "╇", "┩")]
    for i, layer in enumerate(model.layers):
        if i:
            lines.append(_rule(widths, "├", "─", "┼", "┤"))
        params = f"{layer.count_params():,}" if layer.built else "0 (unbuilt)"
        cells = [f"{layer.name} ({type(layer).__name__})", _layer_shape(layer), params]
        if not chain:
            cells.append(_connections(model, layer))
        lines += _row(cells, widths, right, "│")
    lines.append(_rule(widths, "└", "─", "┴", "┘"))
    trainable = {id(w) for w in model.trainable_weights}
    weights = model.weights
    t_count = sum(w.size for w in weights if id(w) in trainable)
    t_bytes = sum(w.data.nbytes for w in weights if id(w) in trainable)
    n_count = sum(w.size for w in weights if id(w) not in trainable)
    n_bytes = sum(w.data.nbytes for w in weights if id(w) not in trainable)
    opt = getattr(model, "optimizer", None)
    o_count = opt.count_params() if opt is not None else 0
    o_bytes = 0
    if o_count:  # iterations (int64) + learning rate (float32) + slots
        o_bytes = 8 + 4 + sum(a.nbytes for arrays in opt._slots.values() for a in arrays)
    total, total_bytes = t_count + n_count + o_count, t_bytes + n_bytes + o_bytes
    lines.append(f" Total params: {total:,} ({readable_memory_size(total_bytes)})")
    lines.append(f" Trainable params: {t_count:,} ({readable_memory_size(t_bytes)})")
    lines.append(f" Non-trainable params: {n_count:,} ({readable_memory_size(n_bytes)})")
    if o_count:
        lines.append(f" Optimizer params: {o_count:,} ({readable_memory_size(o_bytes)})")
    return "\n".join(lines)


def print_summary(model: Sequential, line_length: int | None = None,
                  print_fn: Callable[[str], None] | None = None) -> None:
    """Print ``summary_text`` (or pass each line to ``print_fn``): ``Sequential.summary``.

    Example:
        >>> import minicnn as mc
        >>> from minicnn.models.summary import print_summary
        >>> lines = []
        >>> print_summary(mc.Sequential([mc.Input((3,)), mc.Dense(2)], name="tiny"),
        ...               line_length=60, print_fn=lines.append)
        >>> lines[0]
        'Model: "tiny"'
    """
    text = summary_text(model, line_length)
    if print_fn is None:
        print(text)
    else:
        for line in text.split("\n"):
            print_fn(line)
