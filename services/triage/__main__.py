"""``python -m services.triage web|consume|schedule|all``."""

import sys

from services.triage.config import load_settings
from shared.cli import main

if __name__ == "__main__":
    sys.exit(main("triage", load_settings, "services.triage.app:Triage"))
