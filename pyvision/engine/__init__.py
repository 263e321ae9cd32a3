"""The recognition engine: plain Python, no Django.

decode -> preprocess -> onnxruntime -> top-k, for one image or a batch. Import what
you need from its modules (``classifier``, ``registry``, ...): this package imports
nothing itself, so the web process can read the model list without loading
onnxruntime; and onnxruntime is imported where a model is loaded, not where its
modules are: a worker that has loaded no model yet does without its 19 MB.
"""
