"""Start the action server on the loopback interface (rasa-sdk 3.6 binds every
interface unless SANIC_HOST says otherwise)."""

import os
import sys

os.environ.setdefault("SANIC_HOST", "127.0.0.1")

from rasa_sdk.__main__ import main  # noqa: E402

if __name__ == "__main__":
    sys.argv[1:1] = ["--actions", "actions"]
    main()
