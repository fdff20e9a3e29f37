"""``python -m marl_part.cli``: the ``marl-part`` command."""

import sys

from marl_part.cli import main

sys.exit(main())
