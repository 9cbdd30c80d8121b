"""The local stack: moto server, the gateway simulator, and the local run command.

Like Lambda puts the layer on the path, the local stack puts the layer's package and the handlers there.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _folder in (ROOT / "layers" / "smsdrop", ROOT / "functions"):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))
