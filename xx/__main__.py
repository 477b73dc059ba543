import sys

from xx.cli import main

sys.exit(main())
