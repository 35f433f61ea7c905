"""COD reconciliation with senders: statements of the COD collected for them."""
