"""faithex: train and evaluate LLM classifiers whose explanations are faithful to their decisions.

The pipeline: task -> regime -> train -> protocol -> samples -> metrics -> report. Heavy libraries (torch,
transformers) are imported only where used, so `import faithex` and `faithex --help` stay fast.
"""

__version__ = "0.1.0"
