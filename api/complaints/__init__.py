"""Complaint cases, missing-scan detection and the post's quality figures."""
