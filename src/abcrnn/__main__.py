import sys

from abcrnn.cli.main import main

sys.exit(main())
