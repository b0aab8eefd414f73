"""aptmagic as a SageMaker model container (``aptmagic serve-model``)."""
