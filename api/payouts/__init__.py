"""Pension and social-insurance payouts."""
