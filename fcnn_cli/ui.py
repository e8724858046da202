"""Everything rich: progress bars, epoch tables, metric tables, z/a/δ tables, errors."""

from __future__ import annotations
