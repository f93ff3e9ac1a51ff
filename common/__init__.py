"""What every process shares: languages and their detection, keywords, crisis
phrases, topics, texts, hubs and places, the source registry.

Both Python environments import it (the Rasa server through ``nlu``, the action
server and the gateway directly), so it imports nothing from FastAPI,
SQLAlchemy, pydantic or Rasa, and nothing from the other top-level packages."""
