"""``python -m services.intake web|consume|schedule|all``."""

import sys

from services.intake.config import load_settings
from shared.cli import main

if __name__ == "__main__":
    sys.exit(main("intake", load_settings, "services.intake.app:Intake"))
