"""``python -m services.notify web|consume|schedule|all``."""

import sys

from services.notify.config import load_settings
from shared.cli import main

if __name__ == "__main__":
    sys.exit(main("notify", load_settings, "services.notify.app:Notify"))
