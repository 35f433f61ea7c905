"""Proof of delivery: policies, evidence uploads, delivery codes."""
