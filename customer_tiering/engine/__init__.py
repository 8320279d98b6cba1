"""Pure business rules of ``customer_tiering`` (no Odoo, stdlib only).

The package is importable both as ``odoo.addons.customer_tiering.engine`` and,
for the plain pytest suite, as a standalone package; it therefore only uses
relative imports.
"""

from . import backtest, cadence, health, refresh, tiering

__all__ = ["backtest", "cadence", "health", "refresh", "tiering"]
