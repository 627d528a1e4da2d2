"""Language models: loading base models and adapters (`models`), batched generation (`generation`) and label
log-probabilities (`scoring`)."""
