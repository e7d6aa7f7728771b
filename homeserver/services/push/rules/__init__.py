"""Push rules: the model, the default rules, conditions and the evaluator.

Pure modules (no I/O), spec v1.19 "Push Rules" and "Predefined Rules".
"""
