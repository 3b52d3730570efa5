import sys

from geomon.cli import main

sys.exit(main())
