"""Courier cash ledgers: COD collected, hand-ins counted at the office, corrections."""
