"""phqwatch: passive PHQ-9 estimation from conversations, and monitoring clinicians can trust.

Every estimate is decision support, never a diagnosis: it is labelled "estimated", kept apart from
administered PHQ-9 scores, and shown with its basis.
"""

from __future__ import annotations

__version__ = "0.1.0"
