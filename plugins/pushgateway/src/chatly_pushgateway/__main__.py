"""``python -m chatly_pushgateway --config gateway.yaml``: the stand-alone
gateway (``chatly_pushgateway.standalone``)."""

import sys

from chatly_pushgateway.standalone import main

sys.exit(main())
