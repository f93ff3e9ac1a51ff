"""The custom NLU components the Rasa server loads (``config.yml`` names them as
``nlu.components.*``). Runs in the Rasa environment; imports only ``common``."""
