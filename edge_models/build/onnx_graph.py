"""The intent model as an ONNX graph: a sparse TF-IDF row times a weight matrix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

OPSET = 17


def write_linear_model(path: Path, weights: npt.NDArray[np.float32], bias: npt.NDArray[np.float32]) -> None:
    """Write ``logits = sum_j values[j] * weights[indices[j]] + bias``.

    Inputs ``indices`` (int64) and ``values`` (float32) have shape
    (batch, width); index 0 is padding (its value is 0).
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    n_labels = weights.shape[1]
    nodes = [
        helper.make_node("Gather", ["weights", "indices"], ["rows"], axis=0),
        helper.make_node("Unsqueeze", ["values", "axis2"], ["values3"]),
        helper.make_node("Mul", ["rows", "values3"], ["weighted"]),
        helper.make_node("ReduceSum", ["weighted", "axis1"], ["summed"], keepdims=0),
        helper.make_node("Add", ["summed", "bias"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes,
        "kiosk_intent",
        [
            helper.make_tensor_value_info("indices", TensorProto.INT64, ["batch", "width"]),
            helper.make_tensor_value_info("values", TensorProto.FLOAT, ["batch", "width"]),
        ],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", n_labels])],
        [
            numpy_helper.from_array(weights.astype(np.float32), "weights"),
            numpy_helper.from_array(bias.astype(np.float32), "bias"),
            numpy_helper.from_array(np.array([2], dtype=np.int64), "axis2"),
            numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="kiosk-build")
    model.ir_version = 9
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))


def quantize_int8(source: Path, target: Path) -> None:
    """Dynamic int8 quantization of the weight matrix with onnxruntime."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(source), str(target), op_types_to_quantize=["Gather", "MatMul"], weight_type=QuantType.QInt8)
