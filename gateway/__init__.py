"""The gateway process (FastAPI): residents' channels, the coordinators' inbox,
storage, the outbox and the Rasa client. It imports ``common``; nothing imports it
except the launcher (``stack``), the tests and the benchmarks."""
