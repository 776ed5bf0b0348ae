"""A model's configuration and files: the Persistence mixin Model inherits.

get_build_config / build_from_config (the input shapes a model was built with), to_json,
save / save_weights / load_weights (nerve.saving) and export (nerve.interop.onnx_export).
"""
from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional, Union, cast

from .. import registration

if TYPE_CHECKING:
    from .model import Model


class Persistence:
    """The configuration and file methods of a Model (a mixin of it).

    Not used on its own: nerve.Model inherits it, and its methods are documented there.

    Example:
        >>> import nerve
        >>> from nerve.models.persistence import Persistence
        >>> issubclass(nerve.Model, Persistence)
        True
    """

    # Model's and Layer's, declared for mypy (the typed methods below use them).
    _sources: Any
    _input_structure: Any
    build: Callable[..., None]
    get_config: Callable[[], Dict[str, Any]]

    def get_build_config(self) -> Optional[Dict[str, Any]]:
        """Return {"input_shape": ...} a subclassed model was built with, or None.

        Returns:
            The input shape(s) build() was called with (what nerve.saving stores), or None
            for a model not built by build() (functional models rebuild from their config).

        Example:
            >>> import nerve
            >>> inputs = nerve.Input(shape=(4,))
            >>> nerve.Model(inputs, nerve.layers.Dense(2)(inputs)).get_build_config() is None
            True
        """
        if self._sources is None:
            return None
        shapes = [list(t.shape) for t in self._sources]
        return {"input_shape": shapes if self._input_structure is not None else shapes[0]}

    def build_from_config(self, config: Optional[Dict[str, Any]]) -> None:
        """Build the model from a get_build_config() configuration (nothing for None).

        Args:
            config: {"input_shape": shape or list of shapes}, or None.

        Raises:
            ValueError: A shape the model cannot take.

        Example:
            >>> import nerve
            >>> model = nerve.Sequential([nerve.layers.Dense(2)])
            >>> model.build_from_config({"input_shape": [None, 3]})
            >>> model.built
            True
        """
        if config and config.get("input_shape") is not None:
            shape = config["input_shape"]
            self.build([tuple(s) for s in shape] if shape and isinstance(shape[0], list)
                       else tuple(shape))

    def to_json(self, **kwargs: Any) -> str:
        """Return the architecture as JSON, which nerve.models.model_from_json rebuilds.

        Args:
            **kwargs: Passed to json.dumps (indent=2, ...).

        Returns:
            A JSON object {"class_name", "config", "module"}; no weights.

        Raises:
            NotImplementedError: A functional model whose graph calls nerve.ops directly.

        Example:
            >>> import json, nerve
            >>> model = nerve.Sequential([nerve.Input(shape=(4,)), nerve.layers.Dense(2)])
            >>> json.loads(model.to_json())["class_name"]
            'Sequential'
        """
        return json.dumps({"class_name": registration.get_registered_name(self),
                           "config": self.get_config(), "module": "nerve.models"}, **kwargs)

    def save(self, filepath: Union[str, bytes, os.PathLike]) -> None:
        """Save the architecture, weights, compile settings and optimizer state to a file.

        See nerve.saving.save_model: nerve's own format (.nerve by convention), or a Keras 3
        archive for a name ending in .keras. Under nerve.distributed only rank 0 writes.

        Args:
            filepath: The file's path (str, bytes or os.PathLike).

        Raises:
            ValueError: A name ending in .h5, .hdf5 or .onnx (formats save does not write).
            TypeError: A filepath that is not a path.

        Example:
            >>> import os, tempfile, nerve
            >>> model = nerve.Sequential([nerve.Input(shape=(4,)), nerve.layers.Dense(2)])
            >>> with tempfile.TemporaryDirectory() as folder:
            ...     model.save(os.path.join(folder, "model.nerve"))
            ...     loaded = nerve.models.load_model(os.path.join(folder, "model.nerve"))
            >>> loaded.count_params()
            10
        """
        from .. import saving
        saving.save_model(cast("Model", self), filepath)

    def export(self, filepath: Union[str, bytes, os.PathLike], format: str = "onnx",
               verbose: Optional[bool] = None) -> None:
        """Write the inference graph for another runtime (Keras 3's call): ONNX.

        See nerve.interop.onnx_export (needs the onnx package).

        Args:
            filepath: The file's path, ending in .onnx.
            format: "onnx", the one format nerve exports, default "onnx".
            verbose: Ignored (Keras's), default None.

        Raises:
            ValueError: Another format, a name not ending in .onnx, or a layer ONNX export
                does not translate.
            ImportError: The onnx package is missing.

        Example:
            >>> import os, tempfile, nerve
            >>> model = nerve.Sequential([nerve.Input(shape=(4,)), nerve.layers.Dense(2)])
            >>> with tempfile.TemporaryDirectory() as folder:
            ...     model.export(os.path.join(folder, "model.onnx"))
            ...     os.path.exists(os.path.join(folder, "model.onnx"))
            True
        """
        from .. import saving
        from ..interop import onnx_export
        filepath = saving._path(filepath)
        if format != "onnx":
            raise ValueError(f"format: nerve exports 'onnx' only, received {format!r}")
        if not filepath.lower().endswith(".onnx"):
            raise ValueError(f"filepath: an ONNX file's name ends in .onnx, received "
                             f"{filepath!r}")
        onnx_export.export(self, filepath)

    def save_weights(self, filepath: Union[str, bytes, os.PathLike]) -> None:
        """Save the weights alone (get_weights() order) to a file (nerve.saving.save_weights).

        A name ending in .h5 (such as .weights.h5) gets Keras 3's weights format. Under
        nerve.distributed only rank 0 writes.

        Args:
            filepath: The file's path (str, bytes or os.PathLike).

        Raises:
            ValueError: A name ending in .keras (a whole model: use save()).
            TypeError: A filepath that is not a path.

        Example:
            >>> import os, tempfile, nerve
            >>> model = nerve.Sequential([nerve.Input(shape=(4,)), nerve.layers.Dense(2)])
            >>> folder = tempfile.TemporaryDirectory()
            >>> model.save_weights(os.path.join(folder.name, "w.weights.h5"))  # Keras's format
            >>> model.load_weights(os.path.join(folder.name, "w.weights.h5"))
            >>> folder.cleanup()
        """
        from .. import saving
        saving.save_weights(cast("Model", self), filepath)

    def load_weights(self, filepath: Union[str, bytes, os.PathLike]) -> None:
        """Load weights saved by save_weights or save (nerve's or Keras's files).

        Everything is checked first, so on any error the model is unchanged.

        Args:
            filepath: The file's path (str, bytes or os.PathLike).

        Raises:
            ValueError: Not a weights or model file, a corrupt file, or weights whose count
                or shapes do not match the model.
            FileNotFoundError: No such file.

        Example:
            >>> import os, tempfile, nerve
            >>> model = nerve.Sequential([nerve.Input(shape=(4,)), nerve.layers.Dense(2)])
            >>> other = nerve.Sequential([nerve.Input(shape=(4,)), nerve.layers.Dense(2)])
            >>> with tempfile.TemporaryDirectory() as folder:
            ...     model.save_weights(os.path.join(folder, "w.nerve"))
            ...     other.load_weights(os.path.join(folder, "w.nerve"))
            >>> all((a == b).all() for a, b in zip(model.get_weights(), other.get_weights()))
            True
        """
        from .. import saving
        saving.load_weights(cast("Model", self), filepath)
