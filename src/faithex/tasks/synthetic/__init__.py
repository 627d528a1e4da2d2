"""Paper 1's seeded generators with ground truth: logistic regression, decision tree, natural-language mortgage tree."""
