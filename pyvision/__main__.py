import sys

from pyvision.cli import main

sys.exit(main())
