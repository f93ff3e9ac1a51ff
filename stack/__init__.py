"""The launcher: ``python -m stack`` (``make run``) trains the model when needed and
starts the Rasa server, the action server and the gateway; ``stack.model`` trains."""
