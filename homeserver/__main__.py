"""``python -m homeserver``: run the server in the foreground."""

import sys

from homeserver.app import main

sys.exit(main())
