"""The hub guide's core package.

Importing ``bot`` itself imports nothing from FastAPI, SQLAlchemy or Rasa: the
Rasa environment loads ``bot.nlu`` and ``bot.languages``, the application
environment loads the rest.
"""
