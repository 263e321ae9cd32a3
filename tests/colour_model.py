"""A real, tiny ONNX classifier built with onnx's helper API: three classes, by which
colour dominates the photo (the mean of each channel, scaled)."""

import io
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

COLOURS = {"red": (220, 30, 25), "green": (30, 200, 40), "blue": (25, 40, 210)}
LABELS_CSV = "id,en,zh-hans\nred,red,红色\ngreen,green,绿色\nblue,blue,蓝色\n"


def colour_model(size: int = 32, classes: int = 3, inputs: int = 1, softmax: bool = False) -> bytes:
    """``softmax``: exported with a final Softmax, as many classifiers are, answering probabilities."""
    image_inputs = [helper.make_tensor_value_info(f"image{i}" if i else "image", TensorProto.FLOAT, ["batch", 3, size, size])
                    for i in range(inputs)]
    weights = numpy_helper.from_array(np.eye(3, classes, dtype=np.float32) * 10, "weights")
    nodes = [helper.make_node("ReduceMean", ["image"], ["channels"], axes=[2, 3], keepdims=0),
             helper.make_node("MatMul", ["channels", "weights"], ["logits"])]
    if softmax:
        nodes.append(helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1))
    graph = helper.make_graph(nodes, "dominant-colour", image_inputs,
                              [helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, ["batch", classes])],
                              initializer=[weights])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    onnx.checker.check_model(model)
    return model.SerializeToString()


def write_model(folder: Path, **options) -> tuple[Path, Path]:
    """The model and its labels (CSV, with Simplified Chinese names) as files to add."""
    onnx_file, labels = folder / "colours.onnx", folder / "colours.csv"
    onnx_file.write_bytes(colour_model(**options))
    labels.write_text(LABELS_CSV, encoding="utf-8")
    return onnx_file, labels


def photo(colour: str) -> bytes:
    """A JPEG mostly of one colour, with some texture so it is a photo, not a swatch."""
    rng = np.random.default_rng(sum(map(ord, colour)))
    pixels = np.clip(np.array(COLOURS[colour]) + rng.normal(0, 25, (120, 160, 3)), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()
