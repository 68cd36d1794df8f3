"""`python -m rescale_client.cli`: the same as the `rescale-cli` console script."""
import sys

from . import main

sys.exit(main())
