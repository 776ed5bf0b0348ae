"""Files of other libraries: Keras 3's .keras archives and .weights.h5 files (keras_format,
keras_config; through nerve.saving, by file name and content) and ONNX export
(onnx_export; through model.export(filepath, format="onnx"))."""
